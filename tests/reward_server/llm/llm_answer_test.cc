#include "reward_server/llm/llm_answer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace lantern::reward::llm {
namespace {

Label Classify(std::string_view text) {
  return ParseClassificationAnswer(text).label;
}
Label Rank(std::string_view text) { return ParseRankingAnswer(text).label; }

TEST(ClassificationAnswerTest, AcceptsTheGrammarFormat) {
  EXPECT_EQ(Classify("Analysis: a key opens doors.\nLabel: helpful"),
            Label::kHelpful);
  EXPECT_EQ(Classify("Analysis: background noise.\nLabel: unhelpful"),
            Label::kUnhelpful);
}

TEST(ClassificationAnswerTest, ToleratesCaseMarkdownAndPunctuation) {
  EXPECT_EQ(Classify("analysis: x\nLABEL: Helpful."), Label::kHelpful);
  EXPECT_EQ(Classify("**Label:** unhelpful"), Label::kUnhelpful);
  EXPECT_EQ(Classify("- label = \"helpful\"\r\n"), Label::kHelpful);
  EXPECT_EQ(Classify("  Label: [unhelpful]  "), Label::kUnhelpful);
  EXPECT_EQ(Classify("### Label: *helpful*!"), Label::kHelpful);
}

TEST(ClassificationAnswerTest, UnhelpfulIsNotHelpful) {
  // "unhelpful" contains "helpful": the whole word decides.
  EXPECT_EQ(Classify("Label: unhelpful"), Label::kUnhelpful);
  EXPECT_EQ(Classify("Analysis: helpful for later.\nLabel: unhelpful"),
            Label::kUnhelpful);
  EXPECT_EQ(Classify("Analysis: unhelpful noise, sadly.\nLabel: helpful"),
            Label::kHelpful);
}

TEST(ClassificationAnswerTest, NegationsAndOtherWordsAreUnknown) {
  EXPECT_EQ(Classify("Label: not helpful"), Label::kUnknown);
  EXPECT_EQ(Classify("Label: somewhat helpful"), Label::kUnknown);
  EXPECT_EQ(Classify("Label: neutral"), Label::kUnknown);
  EXPECT_EQ(Classify("Label: helpfulness"), Label::kUnknown);
  EXPECT_EQ(Classify("Label: FOO"), Label::kUnknown);
  EXPECT_EQ(Classify("Label:"), Label::kUnknown);
  EXPECT_EQ(Classify("Label:\nhelpful"), Label::kUnknown);
}

TEST(ClassificationAnswerTest, BothLabelsAreUnknown) {
  EXPECT_EQ(Classify("Label: helpful or unhelpful"), Label::kUnknown);
  EXPECT_EQ(Classify("Label: helpful/unhelpful"), Label::kUnknown);
  EXPECT_EQ(Classify("Label: helpful\nLabel: unhelpful"), Label::kUnknown);
  const ParsedAnswer conflict =
      ParseClassificationAnswer("Label: unhelpful\nLabel: helpful");
  EXPECT_EQ(conflict.label, Label::kUnknown);
  EXPECT_NE(conflict.reason.find("conflicting"), std::string::npos);
  // Repeating the same label is still one clear answer.
  EXPECT_EQ(Classify("Label: helpful\n\nLabel: helpful."), Label::kHelpful);
}

TEST(ClassificationAnswerTest, LabelInAnalysisOnlyIsUnknown) {
  EXPECT_EQ(Classify("Analysis: this is helpful."), Label::kUnknown);
  EXPECT_EQ(Classify("This message is unhelpful."), Label::kUnknown);
  EXPECT_EQ(Classify("It should be labelled as helpful."), Label::kUnknown);
  EXPECT_EQ(Classify("I would label this helpful"), Label::kUnknown);
  const ParsedAnswer p = ParseClassificationAnswer("Analysis: helpful.");
  EXPECT_NE(p.reason.find("no label line"), std::string::npos) << p.reason;
}

TEST(ClassificationAnswerTest, TrailingText) {
  // Lines after the label line are ignored...
  EXPECT_EQ(Classify("Analysis: a.\nLabel: helpful\nHope this helps!"),
            Label::kHelpful);
  // ...words after the label on its own line are not.
  EXPECT_EQ(Classify("Label: helpful, because keys open doors"),
            Label::kUnknown);
  EXPECT_EQ(Classify("Label: helpful (mostly)"), Label::kUnknown);
}

TEST(ClassificationAnswerTest, BareWordAndEmptyAnswers) {
  EXPECT_EQ(Classify("helpful"), Label::kHelpful);
  EXPECT_EQ(Classify(" \"Unhelpful.\"\n"), Label::kUnhelpful);
  EXPECT_EQ(Classify("helpful unhelpful"), Label::kUnknown);
  EXPECT_EQ(Classify("not helpful"), Label::kUnknown);
  const ParsedAnswer empty = ParseClassificationAnswer("  \n");
  EXPECT_EQ(empty.label, Label::kUnknown);
  EXPECT_EQ(empty.reason, "empty answer");
}

TEST(ClassificationAnswerTest, IgnoresThinking) {
  EXPECT_EQ(Classify("<think>Label: helpful? no.</think>\nLabel: unhelpful"),
            Label::kUnhelpful);
  EXPECT_EQ(Classify("<think>Label: helpful</think>"), Label::kUnknown);
}

TEST(RankingAnswerTest, AcceptsMotifFormat) {
  EXPECT_EQ(Rank("Analysis: the key matters.\n(\"best_description\": 1)"),
            Label::kFirst);
  EXPECT_EQ(Rank("Analysis: stairs.\n(\"best_description\": 2)"),
            Label::kSecond);
  EXPECT_EQ(Rank("Analysis: both noise.\n(\"best_description\": None)"),
            Label::kTie);
  EXPECT_EQ(Rank("best_description: tie"), Label::kTie);
  EXPECT_EQ(Rank("\"Best Description\" = \"2\"."), Label::kSecond);
  EXPECT_EQ(Rank("**best_description**: 1"), Label::kFirst);
}

TEST(RankingAnswerTest, StrictAboutTheToken) {
  EXPECT_EQ(Rank("(\"best_description\": 3)"), Label::kUnknown);
  EXPECT_EQ(Rank("(\"best_description\": 12)"), Label::kUnknown);
  EXPECT_EQ(Rank("(\"best_description\": description_1)"), Label::kUnknown);
  EXPECT_EQ(Rank("(\"best_description\": 1 or 2)"), Label::kUnknown);
  EXPECT_EQ(Rank("(\"best_description\": 1) because it is better"),
            Label::kUnknown);
}

TEST(RankingAnswerTest, ConflictsAndEchoesAreUnknown) {
  // Echoing the instruction names both choices.
  EXPECT_EQ(Rank("I write either (\"best_description\": 1), "
                 "(\"best_description\": 2)."),
            Label::kUnknown);
  EXPECT_EQ(Rank("(\"best_description\": 1) or (\"best_description\": 2)"),
            Label::kUnknown);
  EXPECT_EQ(Rank("(\"best_description\": 2)\n(\"best_description\": 2)"),
            Label::kSecond);
}

TEST(RankingAnswerTest, ProseAndBareAnswers) {
  EXPECT_EQ(Rank("The best description is 1."), Label::kUnknown);
  EXPECT_EQ(Rank("Description 2 shows more progress."), Label::kUnknown);
  EXPECT_EQ(Rank("2"), Label::kSecond);
  EXPECT_EQ(Rank("None."), Label::kTie);
  EXPECT_EQ(Rank(""), Label::kUnknown);
}

// The worked examples in the shipped prompts answer in the parsed format
// (the format line itself, "Label: <helpful or unhelpful>", must not parse).
TEST(ShippedPromptTest, WorkedExamplesParse) {
  struct File {
    std::string name;
    Task task;
    std::vector<Label> want;
  };
  const File files[] = {
      {"classify_oni.txt",
       Task::kClassify,
       {Label::kHelpful, Label::kHelpful, Label::kHelpful, Label::kUnhelpful,
        Label::kUnhelpful, Label::kUnknown}},
      {"rank_motif.txt",
       Task::kRank,
       {Label::kSecond, Label::kTie, Label::kUnknown}},
  };
  for (const File& file : files) {
    std::ifstream in(std::string(LANTERN_SOURCE_DIR) + "/configs/prompts/" +
                     file.name);
    ASSERT_TRUE(in) << file.name;
    std::vector<Label> got;
    std::string line, analysis;
    while (std::getline(in, line)) {
      if (line.starts_with("Analysis:")) {
        analysis = line;
      } else if (!analysis.empty()) {
        got.push_back(ParseAnswer(file.task, analysis + "\n" + line).label);
        analysis.clear();
      }
    }
    EXPECT_EQ(got, file.want) << file.name;
  }
}

TEST(ResponseTextTest, ChatAndCompletions) {
  auto chat = ExtractResponseText(
      R"({"model":"m","choices":[{"message":{"content":"Label: helpful"},)"
      R"("finish_reason":"stop"}]})",
      Endpoint::kChat);
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->text, "Label: helpful");
  EXPECT_EQ(chat->model, "m");
  EXPECT_EQ(chat->finish_reason, "stop");
  auto completion = ExtractResponseText(R"({"choices":[{"text":"2"}]})",
                                        Endpoint::kCompletions);
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(completion->text, "2");
  EXPECT_EQ(completion->model, "");
}

TEST(ResponseTextTest, MalformedBodiesHaveReasons) {
  struct Case {
    std::string body;
    Endpoint endpoint;
    std::string reason;
  };
  const Case cases[] = {
      {"", Endpoint::kChat, "empty"},
      {"  \n", Endpoint::kChat, "empty"},
      {R"({"choices":[{"message":{"content":"Lab)", Endpoint::kChat,
       "not JSON"},
      {"<html>oops</html>", Endpoint::kChat, "not JSON"},
      {"[1,2]", Endpoint::kChat, "not a JSON object"},
      {R"({"error":{"message":"model not loaded"}})", Endpoint::kChat,
       "model not loaded"},
      {R"({"choices":[]})", Endpoint::kChat, "choices[0]"},
      {R"({"choices":[{"text":"x"}]})", Endpoint::kChat, "message"},
      {R"({"choices":[{"message":{"content":null}}]})", Endpoint::kChat,
       "message.content"},
      {R"({"choices":[{"message":{"content":"x"}}]})", Endpoint::kCompletions,
       "choices[0].text"},
      {R"({"choices":[{"text":7}]})", Endpoint::kCompletions,
       "choices[0].text"},
  };
  for (const Case& c : cases) {
    auto text = ExtractResponseText(c.body, c.endpoint);
    ASSERT_FALSE(text.ok()) << c.body;
    EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(text.status().message().find(c.reason), std::string::npos)
        << c.body << " -> " << text.status();
  }
}

}  // namespace
}  // namespace lantern::reward::llm
