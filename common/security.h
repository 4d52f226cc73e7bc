#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace lantern::common {

// What a role needs to speak securely, read from the files and environment
// the security.* keys name. Default: plaintext, no token.
struct Security {
  bool tls = false;
  std::string cert_pem;     // servers only
  std::string key_pem;      // servers only
  std::string ca_pem;       // clients; "": the system's roots
  std::string server_name;  // clients; "": the dialed host
  std::string token;        // "": no token
};

// The checks of security.* that need no file (both halves of TLS or
// neither; TLS for a token); each error names its keys.
void CheckSecurity(const SecurityConfig& config,
                   std::vector<std::string>& errors);

// Reads the PEM files (the certificate and key only when `server`) and the
// token (security.token_file, else $security.token_env). INVALID_ARGUMENT
// naming the key for an unreadable or empty file, a PEM file without a PEM
// block, or a token without TLS. Never puts the token in a message.
absl::StatusOr<Security> LoadSecurity(const SecurityConfig& config,
                                      bool server);

// Equal, in time that depends only on the lengths: for secrets.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// TLS (or not) plus the bearer token on every call.
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(
    const Security& security);
// TLS (or not); with a token, every call without `authorization: Bearer
// <token>` is refused UNAUTHENTICATED before any service sees it.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const Security& security);

}  // namespace lantern::common
