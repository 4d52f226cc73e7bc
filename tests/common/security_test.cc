#include "common/security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace lantern::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "s3cret-t0ken-value";

class LoadSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        ::testing::TempDir() + "lantern_security_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    Write("cert.pem", "-----BEGIN CERTIFICATE-----\nMII\n");
    Write("key.pem", "-----BEGIN PRIVATE KEY-----\nMII\n");
    Write("token", std::string(kToken) + "\n");
    Write("empty", " \n");
    Write("text", "not a certificate\n");
    ::unsetenv("LANTERN_TEST_TOKEN");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  SecurityConfig Tls() const {
    SecurityConfig c;
    c.tls_cert = Path("cert.pem");
    c.tls_key = Path("key.pem");
    c.tls_ca = Path("cert.pem");
    c.token_env = "LANTERN_TEST_TOKEN";
    return c;
  }

  std::string dir_;
};

TEST_F(LoadSecurityTest, DefaultsArePlaintextWithoutAToken) {
  SecurityConfig c;
  c.token_env = "LANTERN_TEST_TOKEN";
  absl::StatusOr<Security> s = LoadSecurity(c, /*server=*/true);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->tls);
  EXPECT_TRUE(s->token.empty());
}

TEST_F(LoadSecurityTest, ReadsTheFilesAndTheTokenTrimmed) {
  SecurityConfig c = Tls();
  c.token_file = Path("token");
  absl::StatusOr<Security> s = LoadSecurity(c, /*server=*/true);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->tls);
  EXPECT_THAT(s->cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(s->key_pem, HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_EQ(s->token, kToken);
  // A client needs neither the certificate nor the key.
  c.tls_key = Path("missing");
  s = LoadSecurity(c, /*server=*/false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->key_pem.empty());
  EXPECT_THAT(s->ca_pem, HasSubstr("BEGIN CERTIFICATE"));
}

TEST_F(LoadSecurityTest, TakesTheTokenFromTheEnvironmentWhenNoFileIsSet) {
  ::setenv("LANTERN_TEST_TOKEN", kToken, 1);
  absl::StatusOr<Security> s = LoadSecurity(Tls(), /*server=*/false);
  ::unsetenv("LANTERN_TEST_TOKEN");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->token, kToken);
}

TEST_F(LoadSecurityTest, BadFilesAreErrorsNamingTheKey) {
  struct Case {
    std::string key, file, message;
  };
  for (const Case& k : std::vector<Case>{
           {"tls_cert", "missing", "security.tls_cert: cannot read"},
           {"tls_cert", "empty", "security.tls_cert: '"},
           {"tls_key", "text", "security.tls_key: '"},
           {"tls_ca", "text", "holds no PEM block"},
           {"token_file", "empty", "security.token_file: '"},
           {"token_file", "missing", "security.token_file: cannot read"}}) {
    SecurityConfig c = Tls();
    if (k.key == "tls_cert") c.tls_cert = Path(k.file);
    if (k.key == "tls_key") c.tls_key = Path(k.file);
    if (k.key == "tls_ca") c.tls_ca = Path(k.file);
    if (k.key == "token_file") c.token_file = Path(k.file);
    absl::StatusOr<Security> s = LoadSecurity(c, /*server=*/true);
    ASSERT_FALSE(s.ok()) << k.key << " " << k.file;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(k.message));
  }
}

TEST_F(LoadSecurityTest, ATokenWithoutTlsIsRefusedAndNeverQuoted) {
  SecurityConfig c;
  c.token_env = "LANTERN_TEST_TOKEN";
  ::setenv("LANTERN_TEST_TOKEN", kToken, 1);
  absl::StatusOr<Security> s = LoadSecurity(c, /*server=*/false);
  ::unsetenv("LANTERN_TEST_TOKEN");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("$LANTERN_TEST_TOKEN"));
  EXPECT_THAT(s.status().message(), HasSubstr("TLS is off"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr(kToken)));
  // A token with a space in it cannot go into a header: refused, unquoted.
  Write("token", "two words\n");
  c = Tls();
  c.token_file = Path("token");
  s = LoadSecurity(c, /*server=*/true);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("printable ASCII"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("two words")));
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

}  // namespace
}  // namespace lantern::common
