// Trajectory bytes per second into the learner over loopback gRPC (the real
// LearnerService and Ingest, a consumer thread that pops and drops), against
// raw TCP over loopback measured in the same run.
//
//   bench_ingest [--seconds S] [--streams 1|2] [--envs N] [--max-unacked K]
//
// The clients send copies of one pre-built valid trajectory (T=32 steps of
// N=256 envs: about 1.8 MB), pipelined (up to K unacked per stream), each
// with a fresh seq. TCP: one sender thread writes 1 MiB buffers to one receiver
// thread. gRPC and TCP alternate twice (A B A B); the better run of each
// counts. The last line of output is one JSON object:
// {"name":"ingest","bytes_per_s":G,"tcp_bytes_per_s":R,"ratio":G/R,
//  "trajectory_bytes":B,"trajectories_per_s":X,"seconds":S,"streams":K}
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/flags.h"
#include "common/grpc_util.h"
#include "common/tensor_codec.h"
#include "common/version_publisher.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "learner/core/malloc_tuning.h"
#include "learner/learner_service.h"

namespace {

using namespace lantern;
using Clock = std::chrono::steady_clock;

struct Args {
  double seconds = 3.0;
  int streams = 1;
  int64_t envs = 256;
  size_t max_unacked = 8;
};

Args Parse(int argc, char** argv) {
  Args args;
  bench::Flags flags(argc, argv,
                     "bench_ingest [--seconds S] [--streams 1|2] [--envs N] "
                     "[--max-unacked K]");
  flags.Get("--seconds", &args.seconds);
  flags.Get("--streams", &args.streams);
  flags.Get("--envs", &args.envs);
  flags.Get("--max-unacked", &args.max_unacked);
  flags.Done(args.seconds > 0 && args.streams >= 1 && args.streams <= 2 &&
             args.envs >= 1 && args.envs <= 4096 && args.max_unacked >= 1);
  return args;
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Encodes a tensor of `shape` whose values `draw` returns.
template <class T, class Draw>
void Fill(const std::vector<int64_t>& shape, Draw draw, v1::Tensor* out) {
  std::vector<T> data(static_cast<size_t>(common::NumElements(shape)));
  for (T& x : data) x = static_cast<T>(draw());
  common::EncodeTensor<T>(shape, data.data(), out);
}

// One unroll shaped like the grid env's: random glyphs and messages, stats in
// [0, 1], a done now and then, and short captions on some steps.
v1::Trajectory MakeTrajectory(const learner::TrajectorySpec& spec, int64_t n) {
  std::mt19937 rng(7);
  auto uniform = [&](float hi) {
    return [&rng, hi] {
      return std::uniform_real_distribution<float>(0, hi)(rng);
    };
  };
  auto integer = [&](int lo, int hi) {
    return [&rng, lo, hi] {
      return std::uniform_int_distribution<int>(lo, hi)(rng);
    };
  };
  const int64_t T = spec.unroll, c = spec.crop;
  v1::Trajectory t;
  t.set_policy_version(1);
  for (int64_t i = 0; i < n; ++i) t.add_env_ids(int32_t(i));
  auto add = [&](const char* name) {
    v1::NamedTensor* nt = t.add_observations();
    nt->set_name(name);
    return nt->mutable_tensor();
  };
  Fill<uint8_t>({T + 1, n, c, c}, integer(32, 126), add("chars"));
  Fill<float>({T + 1, n, spec.num_stats}, uniform(1), add("stats"));
  Fill<uint8_t>({T + 1, n, spec.message_len}, integer(0, 126), add("message"));
  Fill<int32_t>({T, n}, integer(0, int(spec.num_actions) - 1),
                t.mutable_actions());
  Fill<float>({T, n, spec.num_actions}, uniform(4),
              t.mutable_behaviour_logits());
  Fill<float>({T, n}, uniform(0.1f), t.mutable_rewards());
  Fill<uint8_t>(
      {T, n}, [&] { return rng() % 100 == 0; }, t.mutable_dones());
  Fill<int32_t>({T, n}, integer(1, 3), t.mutable_caption_counts());
  Fill<float>({n, spec.state_size}, uniform(1), t.mutable_initial_state());
  const char* const kCaptions[] = {"", "", "you see a key",
                                   "you pick up the key"};
  std::vector<std::string> captions;
  for (int64_t i = 0; i < T * n; ++i) captions.push_back(kCaptions[rng() % 4]);
  learner::PackCaptions(captions, &t);
  for (char done : t.dones().data()) {
    if (done == 0) continue;
    v1::EpisodeStats* e = t.add_episodes();
    e->set_episode_return(uniform(1)());
    e->set_length(integer(1, 100)());
  }
  return t;
}

// One pipelined StreamTrajectories call: writes copies of one trajectory,
// each with the next seq, back to back while at most `window` await their
// ack. A copy is written again only after its ack came back, so the learner
// has read it (gRPC serializes a message when the write goes out, not at
// StartWrite). Runs until Stop().
class Streamer
    : public grpc::ClientBidiReactor<v1::Trajectory, v1::TrajectoryAck> {
 public:
  Streamer(std::shared_ptr<grpc::Channel> channel,
           const v1::Trajectory& prototype, size_t window, uint64_t incarnation)
      : stub_(v1::Learner::NewStub(channel)),
        copies_(window, prototype),
        incarnation_(incarnation) {
    stub_->async()->StreamTrajectories(&context_, this);
    StartRead(&ack_);
    {
      std::lock_guard lock(mu_);
      WriteNextLocked();
    }
    StartCall();
  }

  // Cancels the call and waits until gRPC is done with it.
  void Stop() {
    context_.TryCancel();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (ok) WriteNextLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the call ended
    {
      std::lock_guard lock(mu_);
      ++acked_;  // the learner counts what it did with it
      WriteNextLocked();
    }
    StartRead(&ack_);
  }

  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

 private:
  // Requires mu_.
  void WriteNextLocked() {
    if (writing_ || next_seq_ - acked_ >= copies_.size()) return;
    v1::Trajectory& t = copies_[next_seq_ % copies_.size()];
    t.set_incarnation(incarnation_);
    t.set_seq(next_seq_++);
    writing_ = true;
    StartWrite(&t);
  }

  const std::unique_ptr<v1::Learner::Stub> stub_;
  std::vector<v1::Trajectory> copies_;
  const uint64_t incarnation_;
  grpc::ClientContext context_;
  v1::TrajectoryAck ack_;

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_seq_ = 0;
  uint64_t acked_ = 0;
  bool writing_ = false;
  bool done_ = false;
};

struct Rate {
  double bytes_per_s = 0;
  double items_per_s = 0;
  double cpu_per_wall = 0;
};

// The learner's receiving side, alive for the whole run.
struct LearnerEnd {
  explicit LearnerEnd(const learner::TrajectorySpec& spec)
      : ingest(spec, 16),
        service(&ingest, &publisher, [] { return v1::LearnerStatus(); },
                // Measures the ingest path, not the rate limit.
                {.max_trajectories_per_s = 1e9}),
        consumer([this](std::stop_token stop) {
          // Pops and drops, as fast as the trainer could at best.
          while (!stop.stop_requested()) {
            ingest.PopBatch(1, std::chrono::milliseconds(50));
          }
        }) {}
  ~LearnerEnd() {
    consumer.request_stop();
    ingest.Close();
  }

  learner::Ingest ingest;
  common::VersionPublisher publisher;
  learner::LearnerService service;
  std::jthread consumer;
};

// `streams` pipelined calls, one channel (TCP connection) each, for
// `seconds` after the first trajectory arrived.
Rate RunGrpc(LearnerEnd& learner_end, const std::string& address,
             const v1::Trajectory& prototype, const Args& args,
             uint64_t first_incarnation, int max_bytes) {
  const double bytes = double(prototype.ByteSizeLong());
  std::vector<std::unique_ptr<Streamer>> streams;
  for (int i = 0; i < args.streams; ++i) {
    streams.push_back(std::make_unique<Streamer>(
        common::MakeChannel(address, max_bytes), prototype, args.max_unacked,
        first_incarnation + uint64_t(i)));
  }
  const Clock::time_point connect_start = Clock::now();
  while (learner_end.ingest.Counters().accepted == 0) {
    if (Since(connect_start) > 10.0) {
      std::fprintf(stderr, "no trajectory accepted within 10 s\n");
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const uint64_t accepted0 = learner_end.ingest.Counters().accepted;
  const double cpu0 = CpuSeconds();
  const Clock::time_point start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
  const learner::IngestCounters end = learner_end.ingest.Counters();
  const double wall = Since(start);
  const double cpu = CpuSeconds() - cpu0;

  for (auto& s : streams) s->Stop();
  if (end.rejected != 0 || end.duplicates != 0) {
    std::printf("  warning: %llu rejected, %llu duplicates\n",
                static_cast<unsigned long long>(end.rejected),
                static_cast<unsigned long long>(end.duplicates));
    for (const auto& [reason, count] : end.rejected_by_reason) {
      std::printf("    rejected for %s: %llu\n", reason.c_str(),
                  static_cast<unsigned long long>(count));
    }
  }
  const double items = double(end.accepted - accepted0) / wall;
  return {items * bytes, items, cpu / wall};
}

// Writes all of `buffer`; false if the connection broke.
bool WriteAll(int fd, const std::vector<char>& buffer) {
  for (size_t off = 0; off < buffer.size();) {
    const ssize_t n = ::write(fd, buffer.data() + off, buffer.size() - off);
    if (n <= 0 && errno != EINTR) return false;
    if (n > 0) off += size_t(n);
  }
  return true;
}

// Raw TCP over loopback: one thread writes 1 MiB buffers for `seconds`, one
// thread reads them; bytes received over the time from the first write to
// the end of the stream.
absl::StatusOr<Rate> RunTcp(double seconds) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: pick one
  socklen_t len = sizeof(addr);
  auto* any = reinterpret_cast<sockaddr*>(&addr);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int out = ::socket(AF_INET, SOCK_STREAM, 0);
  int in = -1;
  // The connection completes in the listen backlog, so accept returns at once.
  if (listener >= 0 && out >= 0 && ::bind(listener, any, len) == 0 &&
      ::listen(listener, 1) == 0 && ::getsockname(listener, any, &len) == 0 &&
      ::connect(out, any, len) == 0) {
    in = ::accept(listener, nullptr, nullptr);
  }
  const std::string error = std::strerror(errno);
  if (listener >= 0) ::close(listener);
  if (in < 0) {
    if (out >= 0) ::close(out);
    return absl::InternalError("loopback TCP: " + error);
  }

  std::vector<char> payload(1 << 20);
  std::mt19937 rng(1);
  for (char& c : payload) c = char(rng());
  uint64_t received = 0;
  const double cpu0 = CpuSeconds();
  const Clock::time_point start = Clock::now();
  {
    std::jthread receiver([&] {
      std::vector<char> buffer(1 << 20);
      for (ssize_t n; (n = ::read(in, buffer.data(), buffer.size())) != 0;) {
        if (n < 0 && errno != EINTR) break;
        if (n > 0) received += uint64_t(n);
      }
    });
    std::jthread sender([&] {
      while (Since(start) < seconds && WriteAll(out, payload)) {
      }
      ::shutdown(out, SHUT_WR);
    });
  }  // joins both
  const double wall = Since(start);
  const double cpu = CpuSeconds() - cpu0;
  ::close(in);
  ::close(out);
  return Rate{double(received) / wall, 0, cpu / wall};
}

}  // namespace

int main(int argc, char** argv) {
  lantern::core::KeepFreedMemory();  // as the learner does
  const Args args = Parse(argc, argv);

  const learner::TrajectorySpec spec{.unroll = 32,
                                     .crop = 9,
                                     .num_stats = 5,
                                     .message_len = 64,
                                     .num_actions = 5};
  const v1::Trajectory prototype = MakeTrajectory(spec, args.envs);
  if (absl::Status valid = learner::ValidateTrajectory(prototype, spec);
      !valid.ok()) {
    std::fprintf(stderr, "built an invalid trajectory: %s\n",
                 valid.ToString().c_str());
    return 1;
  }
  const size_t trajectory_bytes = prototype.ByteSizeLong();
  const int max_bytes = int(
      std::min<int64_t>(2 * int64_t(trajectory_bytes) + (1 << 20), INT32_MAX));

  LearnerEnd learner_end(spec);
  absl::StatusOr<common::StartedServer> server =
      common::StartServer("127.0.0.1:0", {&learner_end.service}, max_bytes);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string address = "127.0.0.1:" + std::to_string(server->port);
  std::printf(
      "trajectory: T=%lld N=%lld, %zu bytes; %d stream(s), %zu "
      "unacked at most, %.1f s per run\n",
      static_cast<long long>(spec.unroll), static_cast<long long>(args.envs),
      trajectory_bytes, args.streams, args.max_unacked, args.seconds);

  Rate best_grpc, best_tcp;
  for (int round = 0; round < 2; ++round) {
    const Rate grpc = RunGrpc(learner_end, address, prototype, args,
                              uint64_t(round + 1) * 100, max_bytes);
    absl::StatusOr<Rate> tcp = RunTcp(args.seconds);
    if (!tcp.ok()) {
      std::fprintf(stderr, "tcp: %s\n", tcp.status().ToString().c_str());
      return 1;
    }
    std::printf(
        "round %d: gRPC %.0f MB/s (%.1f traj/s, %.2f cores), TCP %.0f MB/s "
        "(%.2f cores)\n",
        round + 1, grpc.bytes_per_s / 1e6, grpc.items_per_s, grpc.cpu_per_wall,
        tcp->bytes_per_s / 1e6, tcp->cpu_per_wall);
    std::fflush(stdout);
    if (grpc.bytes_per_s > best_grpc.bytes_per_s) best_grpc = grpc;
    if (tcp->bytes_per_s > best_tcp.bytes_per_s) best_tcp = *tcp;
  }
  server->server->Shutdown();

  std::printf(
      "{\"name\":\"ingest\",\"bytes_per_s\":%.0f,\"tcp_bytes_per_s\":%.0f,"
      "\"ratio\":%.3f,\"trajectory_bytes\":%zu,\"trajectories_per_s\":%.1f,"
      "\"seconds\":%.3f,\"streams\":%d}\n",
      best_grpc.bytes_per_s, best_tcp.bytes_per_s,
      best_grpc.bytes_per_s / best_tcp.bytes_per_s, trajectory_bytes,
      best_grpc.items_per_s, args.seconds, args.streams);
  return 0;
}
