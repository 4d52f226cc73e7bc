#include "actor/envs/remote/remote_env.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actor/envs/episode_seed.h"
#include "common/grpc_util.h"
#include "common/tensor_codec.h"

namespace lantern::actor::remote {
namespace {

// Observations are small; this bounds what a hostile server can make the
// actor allocate.
constexpr int kMaxMessageBytes = 64 << 20;
// A destructor does not wait longer than this for Close.
constexpr int kMaxCloseMs = 1000;

// Starts a unary call through `start` (a lambda around stub->async()->X)
// and blocks until its callback ran. The context's deadline bounds the wait.
template <class Request, class Reply, class Start>
grpc::Status CallAndWait(grpc::ClientContext* context, const Request& request,
                         Reply* reply, Start start) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  start(context, &request, reply, [&](grpc::Status s) {
    // Notify under the lock: the waiter cannot return (and destroy cv)
    // before notify_one is done.
    std::lock_guard lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  return status;
}

std::string StatusText(const grpc::Status& s) {
  static const std::map<int, const char*> kNames = {
      {grpc::CANCELLED, "CANCELLED"},
      {grpc::UNKNOWN, "UNKNOWN"},
      {grpc::INVALID_ARGUMENT, "INVALID_ARGUMENT"},
      {grpc::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"},
      {grpc::NOT_FOUND, "NOT_FOUND"},
      {grpc::FAILED_PRECONDITION, "FAILED_PRECONDITION"},
      {grpc::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
      {grpc::UNIMPLEMENTED, "UNIMPLEMENTED"},
      {grpc::INTERNAL, "INTERNAL"},
      {grpc::UNAVAILABLE, "UNAVAILABLE"}};
  auto it = kNames.find(int(s.error_code()));
  return absl::StrCat(
      it == kNames.end() ? std::to_string(s.error_code()) : it->second, ": ",
      s.error_message());
}

// gRPC's code as absl's (the numbers are the same by design).
absl::Status ToAbsl(const grpc::Status& s, const std::string& message) {
  return absl::Status(absl::StatusCode(int(s.error_code())), message);
}

// One channel per server address in a process: an actor's envs share its
// connection (HTTP/2 carries their calls side by side).
std::shared_ptr<grpc::Channel> SharedChannel(const std::string& address) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<grpc::Channel>> channels;
  std::lock_guard lock(mu);
  std::shared_ptr<grpc::Channel> channel = channels[address].lock();
  if (channel == nullptr) {
    channel = common::MakeChannel(address, kMaxMessageBytes);
    channels[address] = channel;
  }
  return channel;
}

struct Wanted {
  const char* name;
  v1::DType dtype;
  std::vector<int64_t> shape;
};

std::vector<Wanted> WantedTensors(const ObsSpec& obs) {
  return {{"chars", v1::DTYPE_UINT8, {obs.crop, obs.crop}},
          {"stats", v1::DTYPE_FLOAT32, {obs.num_stats}},
          {"message", v1::DTYPE_UINT8, {obs.message_len}}};
}

}  // namespace

v1::EnvSpec SpecOf(const ObsSpec& obs, int num_actions) {
  v1::EnvSpec spec;
  for (const Wanted& w : WantedTensors(obs)) {
    v1::TensorSpec* t = spec.add_observations();
    t->set_name(w.name);
    t->set_dtype(w.dtype);
    t->mutable_shape()->Assign(w.shape.begin(), w.shape.end());
  }
  spec.set_num_actions(num_actions);
  return spec;
}

std::string CompareSpec(const v1::EnvSpec& spec, const ObsSpec& obs,
                        int num_actions) {
  std::vector<std::string> diffs;
  if (spec.num_actions() != num_actions) {
    diffs.push_back(absl::StrCat("num_actions: the server has ",
                                 spec.num_actions(), ", env.num_actions is ",
                                 num_actions));
  }
  const std::vector<Wanted> wanted = WantedTensors(obs);
  for (const Wanted& w : wanted) {
    const v1::TensorSpec* found = nullptr;
    for (const v1::TensorSpec& t : spec.observations()) {
      if (t.name() == w.name) found = &t;
    }
    if (found == nullptr) {
      diffs.push_back(absl::StrCat("observation '", w.name,
                                   "': the server does not declare it"));
      continue;
    }
    if (found->dtype() != w.dtype) {
      diffs.push_back(absl::StrCat("observation '", w.name, "': dtype ",
                                   v1::DType_Name(found->dtype()),
                                   ", expected ", v1::DType_Name(w.dtype)));
    }
    if (!std::equal(found->shape().begin(), found->shape().end(),
                    w.shape.begin(), w.shape.end())) {
      diffs.push_back(
          absl::StrCat("observation '", w.name, "': the server has shape [",
                       absl::StrJoin(found->shape(), ","),
                       "], the config declares [", absl::StrJoin(w.shape, ","),
                       "] (env.crop, env.num_stats, env.message_len)"));
    }
  }
  for (const v1::TensorSpec& t : spec.observations()) {
    bool known = false;
    for (const Wanted& w : wanted) known = known || t.name() == w.name;
    if (!known) {
      diffs.push_back(absl::StrCat("observation '", t.name(),
                                   "': unknown (Lantern reads chars, stats, "
                                   "message)"));
    }
  }
  return absl::StrJoin(diffs, "; ");
}

absl::StatusOr<std::unique_ptr<RemoteEnv>> RemoteEnv::Create(
    const RemoteOptions& options, uint64_t seed,
    std::shared_ptr<grpc::Channel> channel) {
  if (channel == nullptr) channel = SharedChannel(options.address);
  std::unique_ptr<RemoteEnv> env(
      new RemoteEnv(options, seed, std::move(channel)));
  if (absl::Status st = env->Open(); !st.ok()) return st;
  if (absl::Status st = env->DoReset(); !st.ok()) return st;
  return env;
}

RemoteEnv::RemoteEnv(const RemoteOptions& options, uint64_t seed,
                     std::shared_ptr<grpc::Channel> channel)
    : options_(options),
      seed_(seed),
      channel_(std::move(channel)),
      stub_(v1::Environment::NewStub(channel_)),
      chars_(size_t(options.obs.crop * options.obs.crop)),
      stats_(size_t(options.obs.num_stats)),
      message_(size_t(options.obs.message_len)) {}

RemoteEnv::~RemoteEnv() {
  if (pending_) {
    pending_->context.TryCancel();
    Await();
  }
  if (session_.empty()) return;
  grpc::ClientContext context;
  SetDeadline(&context, std::min(options_.timeout_ms, kMaxCloseMs));
  v1::CloseRequest request;
  request.set_session(session_);
  v1::CloseReply reply;
  // Best effort: the server also closes sessions left idle.
  CallAndWait(&context, request, &reply,
              [&](auto... args) { stub_->async()->Close(args...); });
}

std::string RemoteEnv::Where(const std::string& call) const {
  std::string where = absl::StrCat("remote env at ", options_.address);
  if (!name_.empty()) absl::StrAppend(&where, " (", name_, ")");
  return absl::StrCat(where, ": ", call);
}

void RemoteEnv::SetDeadline(grpc::ClientContext* context,
                            int timeout_ms) const {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(timeout_ms));
}

absl::Status RemoteEnv::Open() {
  {
    grpc::ClientContext context;
    // The server may still be starting: wait for it, up to the limit.
    const bool wait = options_.connect_timeout_ms > 0;
    context.set_wait_for_ready(wait);
    SetDeadline(&context,
                wait ? options_.connect_timeout_ms : options_.timeout_ms);
    v1::EnvSpec spec;
    const grpc::Status s =
        CallAndWait(&context, v1::GetSpecRequest(), &spec,
                    [&](auto... args) { stub_->async()->GetSpec(args...); });
    if (!s.ok()) {
      return ToAbsl(
          s, absl::StrCat(Where("GetSpec"), " failed",
                          wait ? absl::StrCat(" (waited up to ",
                                              options_.connect_timeout_ms,
                                              " ms, env.connect_timeout_ms)")
                               : "",
                          ": ", StatusText(s)));
    }
    name_ = spec.name();
    const std::string diff =
        CompareSpec(spec, options_.obs, options_.num_actions);
    if (!diff.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Where("GetSpec"),
                       ": the server's spec differs from the config: ", diff));
    }
  }
  grpc::ClientContext context;
  SetDeadline(&context, options_.timeout_ms);
  v1::OpenRequest request;
  request.set_client(options_.client);
  v1::OpenReply reply;
  const grpc::Status s =
      CallAndWait(&context, request, &reply,
                  [&](auto... args) { stub_->async()->Open(args...); });
  if (!s.ok()) {
    return ToAbsl(s, absl::StrCat(Where("Open"), " failed: ", StatusText(s)));
  }
  if (reply.session().empty()) {
    return absl::InternalError(
        absl::StrCat(Where("Open"), ": the server returned no session id"));
  }
  session_ = reply.session();
  return absl::OkStatus();
}

absl::Status RemoteEnv::DoReset() {
  const uint64_t seed = EpisodeSeed(seed_, episode_++);
  const std::string call =
      absl::StrCat("Reset(session ", session_, ", seed ", seed, ")");
  grpc::ClientContext context;
  SetDeadline(&context, options_.timeout_ms);
  v1::ResetRequest request;
  request.set_session(session_);
  request.set_seed(seed);
  v1::EnvStep reply;
  const grpc::Status s =
      CallAndWait(&context, request, &reply,
                  [&](auto... args) { stub_->async()->Reset(args...); });
  if (!s.ok()) {
    return ToAbsl(s, absl::StrCat(Where(call), " failed: ", StatusText(s)));
  }
  if (absl::Status st = Accept(reply, call); !st.ok()) return st;
  ended_ = false;
  return absl::OkStatus();
}

void RemoteEnv::Reset() {
  if (pending_) {
    pending_->context.TryCancel();
    Await();
  }
  if (absl::Status st = DoReset(); !st.ok()) {
    throw RemoteEnvError(std::string(st.message()));
  }
}

void RemoteEnv::StartStep(int action) {
  if (action < 0 || action >= options_.num_actions) {
    throw std::out_of_range(absl::StrCat("remote env action ", action,
                                         " is out of range [0, ",
                                         options_.num_actions, ")"));
  }
  if (ended_) {
    throw std::logic_error(Where("Step after the episode ended; Reset first"));
  }
  pending_ = std::make_unique<Call>();
  pending_action_ = action;
  SetDeadline(&pending_->context, options_.timeout_ms);
  Call* call = pending_.get();
  call->request.set_session(session_);
  call->request.set_action(action);
  // Request, reply and context live in *call until Await() has seen the
  // callback.
  stub_->async()->Step(&call->context, &call->request, &call->reply,
                       [call](grpc::Status s) {
                         std::lock_guard lock(call->mu);
                         call->status = std::move(s);
                         call->done = true;
                         call->cv.notify_one();
                       });
}

grpc::Status RemoteEnv::Await() {
  std::unique_lock lock(pending_->mu);
  pending_->cv.wait(lock, [&] { return pending_->done; });
  return pending_->status;
}

void RemoteEnv::Prepare(int action) {
  if (!pending_) StartStep(action);
}

StepResult RemoteEnv::Step(int action) {
  if (!pending_) {
    StartStep(action);
  } else if (pending_action_ != action) {
    throw std::logic_error(absl::StrCat(
        "remote env: Step(", action, ") after Prepare(", pending_action_, ")"));
  }
  const grpc::Status s = Await();
  const std::unique_ptr<Call> call = std::move(pending_);
  const std::string what =
      absl::StrCat("Step(session ", session_, ", action ", action, ")");
  if (!s.ok()) {
    throw RemoteEnvError(absl::StrCat(Where(what), " failed: ", StatusText(s)));
  }
  if (absl::Status st = Accept(call->reply, what); !st.ok()) {
    throw RemoteEnvError(std::string(st.message()));
  }
  if (!std::isfinite(call->reply.reward())) {
    throw RemoteEnvError(absl::StrCat(Where(what), ": non-finite reward ",
                                      call->reply.reward()));
  }
  StepResult r;
  r.reward = call->reply.reward();
  r.done = call->reply.terminated() || call->reply.truncated();
  r.success = call->reply.success();
  ended_ = r.done;
  return r;
}

absl::Status RemoteEnv::Accept(const v1::EnvStep& reply,
                               const std::string& call) {
  const auto bad = [&](const std::string& why) {
    return absl::InternalError(absl::StrCat(Where(call), ": bad reply: ", why));
  };
  if (reply.caption().size() > size_t(kMaxCaptionBytes)) {
    return bad(absl::StrCat("caption of ", reply.caption().size(),
                            " bytes (at most ", kMaxCaptionBytes, ")"));
  }
  const std::vector<Wanted> wanted = WantedTensors(options_.obs);
  const v1::Tensor* found[3] = {nullptr, nullptr, nullptr};
  for (const v1::NamedTensor& nt : reply.observations()) {
    int k = 0;
    while (k < 3 && nt.name() != wanted[size_t(k)].name) ++k;
    if (k == 3) {
      return bad(absl::StrCat("unknown observation tensor '", nt.name(),
                              "' (expected chars, stats, message)"));
    }
    if (found[k] != nullptr) {
      return bad(
          absl::StrCat("observation tensor '", nt.name(), "' appears twice"));
    }
    found[k] = &nt.tensor();
  }
  for (int k = 0; k < 3; ++k) {
    const Wanted& w = wanted[size_t(k)];
    if (found[k] == nullptr) {
      return bad(absl::StrCat("observation tensor '", w.name, "' is missing"));
    }
    // Name, dtype, exact shape, byte size, finite floats.
    if (absl::Status st = common::CheckTensor(
            *found[k], absl::StrCat("observation tensor '", w.name, "'"),
            w.dtype, w.shape);
        !st.ok()) {
      return bad(std::string(st.message()));
    }
  }
  // Checked: each data() holds exactly the buffer's bytes.
  std::memcpy(chars_.data(), found[0]->data().data(), chars_.size());
  if (!stats_.empty()) {
    std::memcpy(stats_.data(), found[1]->data().data(),
                stats_.size() * sizeof(float));
  }
  std::memcpy(message_.data(), found[2]->data().data(), message_.size());
  caption_ = reply.caption();
  return absl::OkStatus();
}

void RemoteEnv::Observe(const ObsView& out) const {
  std::memcpy(out.chars, chars_.data(), chars_.size());
  if (!stats_.empty()) {
    std::memcpy(out.stats, stats_.data(), stats_.size() * sizeof(float));
  }
  std::memcpy(out.message, message_.data(), message_.size());
}

}  // namespace lantern::actor::remote
