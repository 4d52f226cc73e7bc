#include "common/security.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lantern::common {
namespace {

constexpr char kAuthorization[] = "authorization";
constexpr std::string_view kBearer = "Bearer ";

// The contents of the file `key` names; `pem`: must hold a PEM block.
absl::StatusOr<std::string> ReadSecret(const std::string& key,
                                       const std::string& path, bool pem) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, ": cannot read '", path, "': ", text.status().message()));
  }
  if (absl::StripAsciiWhitespace(*text).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", path, "' is empty"));
  }
  if (pem && !absl::StrContains(*text, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", path, "' holds no PEM block"));
  }
  return *std::move(text);
}

// Adds the token to every call.
class TokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenPlugin(std::string token)
      : header_(std::string(kBearer) + token) {}
  bool IsBlocking() const override { return false; }
  grpc::Status GetMetadata(
      grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
      std::multimap<grpc::string, grpc::string>* metadata) override {
    metadata->insert({kAuthorization, header_});
    return grpc::Status::OK;
  }

 private:
  const std::string header_;
};

// Lets through only calls that carry the token; the header is consumed, so
// no handler (and no log) ever sees it.
class TokenChecker final : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenChecker(std::string token) : token_(std::move(token)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*,
                       OutputMetadata* consumed, OutputMetadata*) override {
    auto it = metadata.find(kAuthorization);
    if (it == metadata.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "no bearer token: this server requires one");
    }
    const std::string_view value(it->second.data(), it->second.size());
    if (!value.starts_with(kBearer) ||
        !ConstantTimeEquals(value.substr(kBearer.size()), token_)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "wrong bearer token");
    }
    consumed->emplace(std::string(it->first.data(), it->first.size()),
                      std::string(it->second.data(), it->second.size()));
    return grpc::Status::OK;
  }

 private:
  const std::string token_;
};

}  // namespace

void CheckSecurity(const SecurityConfig& c, std::vector<std::string>& errors) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    errors.push_back(
        "security.tls_cert and security.tls_key: set both (TLS on) or "
        "neither");
  }
  if (c.tls_cert.empty() && !(c.tls_ca.empty() && c.tls_server_name.empty())) {
    errors.push_back(
        "security.tls_ca, security.tls_server_name: TLS is off (set "
        "security.tls_cert and security.tls_key)");
  }
  if (c.tls_cert.empty() && !c.token_file.empty()) {
    errors.push_back(
        "security.token_file: a bearer token needs TLS (security.tls_cert): "
        "it must not cross the network in clear text");
  }
}

absl::StatusOr<Security> LoadSecurity(const SecurityConfig& config,
                                      bool server) {
  Security s;
  s.tls = !config.tls_cert.empty();
  if (s.tls && server) {
    absl::StatusOr<std::string> cert =
        ReadSecret("security.tls_cert", config.tls_cert, /*pem=*/true);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadSecret("security.tls_key", config.tls_key, /*pem=*/true);
    if (!key.ok()) return key.status();
    s.cert_pem = *std::move(cert);
    s.key_pem = *std::move(key);
  }
  if (!config.tls_ca.empty()) {
    absl::StatusOr<std::string> ca =
        ReadSecret("security.tls_ca", config.tls_ca, /*pem=*/true);
    if (!ca.ok()) return ca.status();
    s.ca_pem = *std::move(ca);
  }
  s.server_name = config.tls_server_name;
  std::string source;
  if (!config.token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadSecret("security.token_file", config.token_file, /*pem=*/false);
    if (!token.ok()) return token.status();
    s.token = std::string(absl::StripAsciiWhitespace(*token));
    source = "security.token_file";
  } else if (const char* env = config.token_env.empty()
                                   ? nullptr
                                   : std::getenv(config.token_env.c_str());
             env != nullptr && *env != '\0') {
    s.token = std::string(absl::StripAsciiWhitespace(env));
    source = "$" + config.token_env;
  }
  if (!s.token.empty() && !s.tls) {
    return absl::InvalidArgumentError(absl::StrCat(
        source,
        " gives a bearer token but TLS is off (set security.tls_cert "
        "and security.tls_key): a token must not cross the network in clear "
        "text"));
  }
  for (char c : s.token) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": the token must be printable ASCII without spaces"));
    }
  }
  return s;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Compare over the longer length so the time does not reveal a prefix.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(
    const Security& security) {
  if (!security.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = security.ca_pem;
  std::shared_ptr<grpc::ChannelCredentials> tls = grpc::SslCredentials(options);
  if (security.token.empty()) return tls;
  return grpc::CompositeChannelCredentials(
      tls, grpc::MetadataCredentialsFromPlugin(
               std::make_unique<TokenPlugin>(security.token)));
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const Security& security) {
  if (!security.tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({security.key_pem, security.cert_pem});
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::SslServerCredentials(options);
  if (!security.token.empty()) {
    creds->SetAuthMetadataProcessor(
        std::make_shared<TokenChecker>(security.token));
  }
  return creds;
}

}  // namespace lantern::common
