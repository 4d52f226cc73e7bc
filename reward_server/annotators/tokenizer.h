#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"

namespace lantern::reward {

// The tokenizer shared by captions and goals (GloVe's own vocabulary is
// lowercase, without punctuation, numbers or clitics):
//  - ASCII letters are lowercased; a token is a maximal run of ASCII letters
//    and digits. Everything else (punctuation, spaces, any non-ASCII byte)
//    separates tokens.
//  - Digits stay inside tokens ("mp3", "h1n1"). The vocabulary has no pure
//    numbers, so "10" is looked up, not found and ignored.
//  - An apostrophe (' or U+2019) between two letters or digits joins a
//    contraction, which is then split the way GloVe's training text was:
//    "n't" becomes "not" ("don't" -> "do not", "can't" -> "can not",
//    "won't" -> "will not"); a trailing 's 're 'll 've 'm 'd is dropped
//    ("it's" -> "it", "rogue's" -> "rogue"); other apostrophes separate
//    ("o'clock" -> "o clock").
// Calls `fn` for each token in order; the view is valid only during the call.
void ForEachToken(std::string_view text,
                  absl::FunctionRef<void(std::string_view)> fn);
// The tokens of `text`, as ForEachToken gives them.
std::vector<std::string> Tokenize(std::string_view text);

// True for the ~100 English function words (articles, pronouns, auxiliary
// verbs, prepositions, conjunctions) that MeanVector skips. Without this, the
// shared "you", "a", "the" dominate a mean of four words and every caption
// has a cosine of 0.83-0.95 with every goal. Negations ("not", "no") and
// directions ("up", "down") are kept.
bool IsStopWord(std::string_view token);

}  // namespace lantern::reward
