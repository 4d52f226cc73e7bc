#include "common/grpc_util.h"

#include "absl/strings/str_cat.h"

namespace lantern::common {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           int max_message_bytes,
                                           const Security& security,
                                           int max_backoff_ms) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes);
  args.SetMaxSendMessageSize(max_message_bytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  // Notice a dead peer within seconds even on an idle stream.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // One connection per channel: each actor gets its own TCP connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!security.server_name.empty()) {
    args.SetSslTargetNameOverride(security.server_name);
  }
  return grpc::CreateCustomChannel(address, ClientCredentials(security), args);
}

absl::StatusOr<StartedServer> StartServer(
    const std::string& address, const std::vector<grpc::Service*>& services,
    int max_message_bytes, const Security& security) {
  grpc::ServerBuilder builder;
  StartedServer started;
  builder.AddListeningPort(address, ServerCredentials(security), &started.port);
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  // The server pings too: a peer that is gone (host down, network cut,
  // process stopped) has its calls cancelled within ~15 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  // A window that grows with the link (BDP probing) lets the transport
  // buffer megabytes for a stream we are not reading (throttled or its
  // queue full): a flood of 32 streams grew the learner by 400 MB. A fixed
  // window bounds that to max_streams * kStreamWindowBytes.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
                             kStreamWindowBytes);
  for (grpc::Service* s : services) builder.RegisterService(s);
  started.server = builder.BuildAndStart();
  if (!started.server || started.port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, " (address in use or invalid?)"));
  }
  return started;
}

std::string DialAddress(const std::string& listen_address, int port) {
  std::string host = listen_address.substr(0, listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(host, ":", port);
}

}  // namespace lantern::common
