#include "reward_server/llm/llm_prompt.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace lantern::reward::llm {
namespace {

using nlohmann::json;

Query One(std::string caption) {
  Query q;
  q.first = std::move(caption);
  return q;
}

constexpr char kClassify[] =
    "# comment header\n"
    "# more comment\n"
    "=== system ===\n"
    "You judge {goal}.\n"
    "=== user ===\n"
    "\n"
    "Caption: \"{caption}\"\n"
    "Keep {other} and {goal}.\n";

PromptTemplate MustParse(std::string_view text, Task task) {
  absl::StatusOr<PromptTemplate> t = PromptTemplate::Parse(text, "t.txt", task);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

TEST(SanitizeTextTest, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(SanitizeText("You see\na key.\tLabel: helpful\r"),
            "You see a key. Label: helpful");
  EXPECT_EQ(SanitizeText(std::string("Hello\0\0\0", 8)), "Hello");
  EXPECT_EQ(SanitizeText(std::string("a\0b", 3)), "a b");
  EXPECT_EQ(SanitizeText("  x\x7f "), "x");
}

TEST(SanitizeTextTest, KeepsUtf8AndMapsOtherHighBytesAsLatin1) {
  EXPECT_EQ(SanitizeText("caf\xc3\xa9"), "caf\xc3\xa9");    // UTF-8 é
  EXPECT_EQ(SanitizeText("caf\xe9"), "caf\xc3\xa9");        // Latin-1 é
  EXPECT_EQ(SanitizeText("\xff\xfe"), "\xc3\xbf\xc3\xbe");  // ÿþ
  EXPECT_EQ(SanitizeText("a\x85z"), "a z");                 // C1 NEL
  EXPECT_EQ(SanitizeText("a\xc2\x85z"), "a z");             // UTF-8 NEL
  EXPECT_EQ(SanitizeText("\xe2\x82"), "\xc3\xa2");          // a cut euro sign
  EXPECT_EQ(SanitizeText("\xf0\x9f\x97\x9d key"), "\xf0\x9f\x97\x9d key");
}

TEST(SanitizeTextTest, QuotesAndBracesStay) {
  EXPECT_EQ(SanitizeText("\"Hello\", {goal} \\o/"), "\"Hello\", {goal} \\o/");
}

TEST(PromptTemplateTest, ParsesCommentsMarkersAndPlaceholders) {
  const PromptTemplate t = MustParse(kClassify, Task::kClassify);
  EXPECT_EQ(t.system(), "You judge {goal}.");
  EXPECT_EQ(t.user(), "Caption: \"{caption}\"\nKeep {other} and {goal}.");
  const RenderedPrompt p =
      t.Render("find the key", One("You find a hidden passage."));
  EXPECT_EQ(p.system, "You judge find the key.");
  EXPECT_EQ(p.user,
            "Caption: \"You find a hidden passage.\"\n"
            "Keep {other} and find the key.");
}

TEST(PromptTemplateTest, SubstitutesInOnePass) {
  const PromptTemplate t = MustParse("{caption} / {goal}", Task::kClassify);
  EXPECT_TRUE(t.system().empty());  // no marker: all user
  const RenderedPrompt p = t.Render("G", One("{goal} and {caption}"));
  EXPECT_EQ(p.user, "{goal} and {caption} / G");
}

TEST(PromptTemplateTest, RankingUsesBothCaptions) {
  const PromptTemplate t = MustParse(
      "sys\n=== user ===\n1: {caption_1}\n2: {caption_2}\n", Task::kRank);
  EXPECT_EQ(t.system(), "sys");
  const RenderedPrompt p = t.Render("g", Query{.first = "You pick up the key.",
                                               .second = "You hear a bird."});
  EXPECT_EQ(p.user, "1: You pick up the key.\n2: You hear a bird.");
}

TEST(PromptTemplateTest, RejectsBadTemplatesNamingTheSource) {
  struct Case {
    std::string text;
    Task task;
    std::string error;
  };
  const Case cases[] = {
      {"", Task::kClassify, "is empty"},
      {"# only a comment\n\n  \n", Task::kClassify, "is empty"},
      {"system only\n=== user ===\n", Task::kClassify, "no user message"},
      {"no placeholder", Task::kClassify, "lacks {caption}"},
      {"{caption} {caption_1}", Task::kClassify, "must not use {caption_1}"},
      {"{caption_1} only", Task::kRank, "lacks {caption_2}"},
      {"{caption} {caption_1} {caption_2}", Task::kRank,
       "must not use {caption}"},
      {"a\n=== user ===\n{caption}\n=== user ===\n", Task::kClassify,
       "more than one"},
      {"=== system ===\n{caption}\n", Task::kClassify, "without"},
      {"x\n=== system ===\n=== user ===\n{caption}", Task::kClassify,
       "must come first"},
  };
  for (const Case& c : cases) {
    auto t = PromptTemplate::Parse(c.text, "my/prompt.txt", c.task);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find("my/prompt.txt"), std::string::npos);
    EXPECT_NE(t.status().message().find(c.error), std::string::npos)
        << c.text << " -> " << t.status();
  }
}

TEST(PromptTemplateTest, LoadNamesAMissingOrEmptyFile) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "lantern_prompt_test";
  std::filesystem::create_directories(dir);
  const std::string missing = (dir / "missing.txt").string();
  auto t = PromptTemplate::Load(missing, Task::kClassify);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find(missing), std::string::npos);

  const std::string empty = (dir / "empty.txt").string();
  std::ofstream(empty).close();
  t = PromptTemplate::Load(empty, Task::kClassify);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find(empty), std::string::npos);
  EXPECT_NE(t.status().message().find("empty"), std::string::npos);
}

TEST(PromptTemplateTest, ShippedTemplatesLoadAndRender) {
  const std::string root = LANTERN_SOURCE_DIR;
  auto classify = PromptTemplate::Load(
      root + "/configs/prompts/classify_oni.txt", Task::kClassify);
  ASSERT_TRUE(classify.ok()) << classify.status();
  auto rank = PromptTemplate::Load(root + "/configs/prompts/rank_motif.txt",
                                   Task::kRank);
  ASSERT_TRUE(rank.ok()) << rank.status();
  const RenderedPrompt c =
      classify->Render("reach the stairs", One("You see a door."));
  EXPECT_FALSE(c.system.empty());
  EXPECT_NE(c.user.find("\"You see a door.\""), std::string::npos);
  EXPECT_NE((c.system + c.user).find("reach the stairs"), std::string::npos);
  EXPECT_EQ((c.system + c.user).find('{' + std::string("caption")),
            std::string::npos);
  const RenderedPrompt r = rank->Render(
      "reach the stairs",
      Query{.first = "You hear a bird.", .second = "You unlock the door."});
  EXPECT_NE(r.user.find("You hear a bird."), std::string::npos);
  EXPECT_NE(r.user.find("You unlock the door."), std::string::npos);
  EXPECT_NE(r.user.find("best_description"), std::string::npos);
}

TEST(EndpointTest, NamesAndUrls) {
  EXPECT_EQ(*EndpointFromName("chat"), Endpoint::kChat);
  EXPECT_EQ(*EndpointFromName("completions"), Endpoint::kCompletions);
  EXPECT_FALSE(EndpointFromName("responses").ok());
  EXPECT_EQ(EndpointUrl("http://h:1", Endpoint::kChat),
            "http://h:1/v1/chat/completions");
  EXPECT_EQ(EndpointUrl("http://h:1/", Endpoint::kCompletions),
            "http://h:1/v1/completions");
  EXPECT_EQ(EndpointUrl("https://api.x.com/v1/", Endpoint::kChat),
            "https://api.x.com/v1/chat/completions");
}

TEST(RequestBodyTest, ChatWithGrammar) {
  const RenderedPrompt prompt{.system = "sys", .user = "say \"hi\"\n"};
  const std::string text = BuildRequestBody(
      Endpoint::kChat, Task::kClassify, prompt,
      RequestOptions{.model = "annot", .temperature = 0.1, .max_tokens = 64});
  const json body = json::parse(text);
  EXPECT_EQ(body["model"], "annot");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.1);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["stream"], false);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][0]["content"], "sys");
  EXPECT_EQ(body["messages"][1]["role"], "user");
  EXPECT_EQ(body["messages"][1]["content"], "say \"hi\"\n");
  EXPECT_EQ(body["grammar"], std::string(ClassificationGrammar()));
  EXPECT_FALSE(body.contains("prompt"));
}

TEST(RequestBodyTest, CompletionsWithoutGrammar) {
  const RenderedPrompt prompt{.system = "sys", .user = "usr"};
  const json body = json::parse(
      BuildRequestBody(Endpoint::kCompletions, Task::kRank, prompt,
                       RequestOptions{.model = "m", .grammar = false}));
  EXPECT_EQ(body["prompt"], "sys\n\nusr\n");
  EXPECT_FALSE(body.contains("messages"));
  EXPECT_FALSE(body.contains("grammar"));
  const json ranked = json::parse(BuildRequestBody(
      Endpoint::kCompletions, Task::kRank,
      RenderedPrompt{.system = "", .user = "u"}, RequestOptions{}));
  EXPECT_EQ(ranked["prompt"], "u\n");
  EXPECT_EQ(ranked["grammar"], std::string(RankingGrammar()));
}

TEST(RequestBodyTest, RawGameBytesStillMakeValidJson) {
  const PromptTemplate t = MustParse("m: \"{caption}\"", Task::kClassify);
  const char kRaw[] = "Quote \" back\\slash \n\xe9\xff\x01\0pad";
  const std::string raw(kRaw, sizeof(kRaw) - 1);
  const std::string text =
      BuildRequestBody(Endpoint::kChat, Task::kClassify,
                       t.Render("g", One(raw)), RequestOptions{});
  const json body = json::parse(text);  // throws if invalid
  EXPECT_EQ(body["messages"][0]["content"],
            "m: \"Quote \" back\\slash  \xc3\xa9\xc3\xbf  pad\"");
}

TEST(GrammarTest, DescribesTheParsedFormats) {
  const std::string c(ClassificationGrammar());
  EXPECT_NE(c.find("\"Analysis: \""), std::string::npos);
  EXPECT_NE(c.find("\"\\nLabel: \""), std::string::npos);
  EXPECT_NE(c.find("\"helpful\" | \"unhelpful\""), std::string::npos);
  EXPECT_NE(c.find("{0,79}"), std::string::npos);
  const std::string r(RankingGrammar());
  EXPECT_NE(r.find("best_description"), std::string::npos);
  EXPECT_NE(r.find("\"1\" | \"2\" | \"None\""), std::string::npos);
}

}  // namespace
}  // namespace lantern::reward::llm
