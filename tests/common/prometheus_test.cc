#include "common/prometheus.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>

#include "common/files.h"
#include "common/metrics_server.h"

namespace lantern::common {
namespace {

TEST(PromTextTest, WritesEachMetricOnceWithItsSamples) {
  PromText p;
  p.Counter("steps_total", "Steps.", 12);
  p.Gauge("share", "Share of time.", 0.25, {{"part", "env"}});
  p.Counter("rejected_total", "Rejected, by reason.", 3, {{"reason", "size"}});
  p.Gauge("share", "Share of time.", 0.5, {{"part", "learner"}});
  p.Gauge("odd", "Escapes \\ and\nnewlines.", 1.0 / 0.0,
          {{"path", "a\"b\\c\nd"}});
  EXPECT_EQ(p.str(),
            "# HELP lantern_steps_total Steps.\n"
            "# TYPE lantern_steps_total counter\n"
            "lantern_steps_total 12\n"
            "# HELP lantern_share Share of time.\n"
            "# TYPE lantern_share gauge\n"
            "lantern_share{part=\"env\"} 0.25\n"
            "lantern_share{part=\"learner\"} 0.5\n"
            "# HELP lantern_rejected_total Rejected, by reason.\n"
            "# TYPE lantern_rejected_total counter\n"
            "lantern_rejected_total{reason=\"size\"} 3\n"
            "# HELP lantern_odd Escapes \\\\ and\\nnewlines.\n"
            "# TYPE lantern_odd gauge\n"
            "lantern_odd{path=\"a\\\"b\\\\c\\nd\"} +Inf\n");
}

TEST(MetricsServerTest, ServesThePageOnAPickedPortAndRecordsIt) {
  const std::string dir = std::filesystem::path(::testing::TempDir()) /
                          ("metrics_server_test_" + std::to_string(::getpid()));
  std::atomic<int> scrapes{0};
  {
    std::unique_ptr<MetricsServer> server =
        StartRoleMetrics("127.0.0.1:0", dir, "learner", [&] {
          PromText p;
          p.Counter("scrapes_total", "Scrapes.", double(++scrapes));
          return p.str();
        });
    ASSERT_NE(server, nullptr);
    absl::StatusOr<std::string> addr = ReadFile(dir + "/learner.addr");
    ASSERT_TRUE(addr.ok());
    EXPECT_EQ(*addr, "127.0.0.1:" + std::to_string(server->port()) + "\n");

    httplib::Client client("127.0.0.1", server->port());
    for (int i = 1; i <= 2; ++i) {
      httplib::Result r = client.Get("/metrics");
      ASSERT_TRUE(r) << httplib::to_string(r.error());
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->get_header_value("Content-Type"),
                "text/plain; version=0.0.4; charset=utf-8");
      EXPECT_NE(r->body.find("lantern_scrapes_total " + std::to_string(i)),
                std::string::npos)
          << r->body;
    }
    EXPECT_EQ(client.Get("/other")->status, 404);
  }
  // Gone with the server.
  EXPECT_FALSE(std::filesystem::exists(dir + "/learner.addr"));
  std::filesystem::remove_all(dir);
}

TEST(MetricsServerTest, OffWhenEmptyAndAClearErrorForABadAddress) {
  EXPECT_EQ(StartRoleMetrics("", "/tmp", "x", [] { return ""; }), nullptr);
  absl::StatusOr<std::unique_ptr<MetricsServer>> bad =
      MetricsServer::Start("localhost:http", [] { return ""; });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("localhost:http"), std::string::npos);
  // A port already taken.
  auto first = MetricsServer::Start("127.0.0.1:0", [] { return ""; });
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::Start(
      "127.0.0.1:" + std::to_string((*first)->port()), [] { return ""; });
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
}

TEST(MetricsServerTest, StopsAtOnceAfterStarting) {
  for (int i = 0; i < 20; ++i) {
    auto s = MetricsServer::Start("127.0.0.1:0", [] { return ""; });
    ASSERT_TRUE(s.ok());
  }  // each destructor returns: the test would hang otherwise
}

}  // namespace
}  // namespace lantern::common
