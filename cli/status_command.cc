#include "cli/status_command.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "absl/strings/strip.h"
#include "common/config.h"
#include "common/files.h"
#include "common/grpc_util.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "lantern/v1/reward.grpc.pb.h"

namespace lantern::cli {
namespace {

// host:port, from TARGET itself or from a run directory's address file.
absl::StatusOr<std::string> Address(const std::string& target) {
  if (!std::filesystem::is_directory(target)) return target;
  for (const char* name : {"learner.addr", "reward.addr"}) {
    absl::StatusOr<std::string> text =
        common::ReadFile(target + "/" + std::string(name));
    if (text.ok()) {
      return std::string(absl::StripAsciiWhitespace(*text));
    }
  }
  return absl::NotFoundError(
      target + " has no learner.addr or reward.addr: is the run going?");
}

template <class Message>
void Print(const char* role, const Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  std::printf("{\"role\": \"%s\", \"status\": %s}\n", role, json.c_str());
}

// How to reach the target securely: from the config when there is one.
absl::StatusOr<common::Security> SecurityFor(
    const std::string& target, std::string config_path,
    const std::vector<std::string>& sets) {
  if (config_path.empty() &&
      std::filesystem::is_regular_file(target + "/config.yaml")) {
    config_path = target + "/config.yaml";
  }
  if (config_path.empty()) return common::Security();
  absl::StatusOr<common::Config> config = common::LoadConfig(config_path, sets);
  if (!config.ok()) return config.status();
  return common::LoadSecurity(config->security, /*server=*/false);
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(3));
}

}  // namespace

int PrintStatus(const std::string& target, const std::string& config_path,
                const std::vector<std::string>& sets) {
  absl::StatusOr<std::string> address = Address(target);
  absl::StatusOr<common::Security> security =
      SecurityFor(target, config_path, sets);
  for (const absl::Status& st : {address.status(), security.status()}) {
    if (!st.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(st.message()).c_str());
      return 1;
    }
  }
  auto channel = common::MakeChannel(*address, 64 << 20, *security);
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::LearnerStatus s;
    const grpc::Status st = v1::Learner::NewStub(channel)->GetStatus(
        &context, v1::StatusRequest(), &s);
    if (st.ok()) {
      Print("learner", s);
      return 0;
    }
    // Another role answers UNIMPLEMENTED for the learner's method.
    if (st.error_code() != grpc::StatusCode::UNIMPLEMENTED) {
      std::fprintf(stderr, "error: %s: %s\n", address->c_str(),
                   st.error_message().c_str());
      return 1;
    }
  }
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::RewardStatus s;
  const grpc::Status st = v1::RewardServer::NewStub(channel)->GetStatus(
      &context, v1::RewardStatusRequest(), &s);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", address->c_str(),
                 st.error_message().c_str());
    return 1;
  }
  Print("reward_server", s);
  return 0;
}

}  // namespace lantern::cli
