#include "actor/envs/nethack/nethack_env.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "actor/envs/episode_seed.h"

namespace lantern::actor::nethack {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxPrompts = 64;  // answers per step before giving up on one
// NH_TIME: 2001-09-09 UTC, a Sunday between full and new moon, so no luck
// bonus or penalty from the date.
constexpr int64_t kGameTime = 1000000000;
constexpr int kMapTop = 1;
constexpr int kMapBottom = 21;

constexpr const char* kRoles[] = {"arc", "bar", "cav", "hea", "kni",
                                  "mon", "pri", "rog", "ran", "sam",
                                  "tou", "val", "wiz"};
constexpr const char* kRaces[] = {"hum", "elf", "dwa", "gno", "orc"};
constexpr const char* kGenders[] = {"mal", "fem"};
constexpr const char* kAligns[] = {"law", "neu", "cha"};

template <size_t N>
bool OneOf(std::string_view word, const char* const (&names)[N]) {
  if (word.size() < 3) return false;
  std::string prefix(word.substr(0, 3));
  for (char& c : prefix) c = char(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(names), std::end(names), prefix) !=
         std::end(names);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string OptionsText(const NethackOptions& o) {
  const std::vector<std::string_view> c = Split(o.character, '-');
  std::string text =
      // No blocking prompts, no animation delays (timed_delay, null and
      // runmode), no bones, the Debian defaults that add windows turned off.
      "OPTIONS=windowtype:tty,!autopickup,pettype:none,showexp,time,!legacy\n"
      "OPTIONS=!news,!mail,suppress_alert:3.4.3,number_pad:0\n"
      "OPTIONS=menustyle:traditional,!hitpointbar,!perm_invent,!popup_dialog\n"
      "OPTIONS=disclose:-i -a -v -g -c -o,color,!tombstone,!toptenwin\n"
      "OPTIONS=!rest_on_space,!cmdassist,!timed_delay,!null,runmode:teleport\n"
      "OPTIONS=!bones,!sparkle,name:Agent\n";
  text += "OPTIONS=role:" + std::string(c[0]) + ",race:" + std::string(c[1]) +
          ",gender:" + std::string(c[2]) + ",align:" + std::string(c[3]) + "\n";
  return text;
}

std::string FindShim(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return (exe.parent_path() / "liblantern_nethack_shim.so").string();
}

}  // namespace

std::string NethackEnv::Validate(const NethackOptions& o) {
  std::vector<std::string> errors;
  Task::Kind kind;
  if (!Task::Parse(o.task, &kind)) {
    errors.push_back("task '" + o.task +
                     "' is not one of score, gold, staircase, oracle");
  }
  if (o.crop < 1 || o.crop > kMaxCrop || o.crop % 2 == 0) {
    errors.push_back("crop " + std::to_string(o.crop) +
                     " must be odd and in [1, " + std::to_string(kMaxCrop) +
                     "]");
  }
  if (o.message_len < 8 || o.message_len > kMaxMessageLen) {
    errors.push_back("message_len " + std::to_string(o.message_len) +
                     " must be in [8, " + std::to_string(kMaxMessageLen) + "]");
  }
  if (o.max_steps < 1) errors.push_back("max_steps must be at least 1");
  if (o.target_depth < 2 || o.target_depth > 50) {
    errors.push_back("target_depth " + std::to_string(o.target_depth) +
                     " must be in [2, 50]");
  }
  if (o.step_timeout_ms < 10) {
    errors.push_back("step_timeout_ms must be at least 10");
  }
  const std::vector<std::string_view> c = Split(o.character, '-');
  if (c.size() != 4 || !OneOf(c[0], kRoles) || !OneOf(c[1], kRaces) ||
      !OneOf(c[2], kGenders) || !OneOf(c[3], kAligns)) {
    errors.push_back(
        "character '" + o.character +
        "' must be role-race-gender-alignment, e.g. val-hum-fem-neu (roles "
        "arc bar cav hea kni mon pri rog ran sam tou val wiz; races hum elf "
        "dwa gno orc; genders mal fem; alignments law neu cha)");
  }
  std::string joined;
  for (const std::string& e : errors) {
    joined += (joined.empty() ? "" : "; ") + e;
  }
  return joined;
}

Task::Kind NethackEnv::TaskKind(const NethackOptions& options) {
  if (std::string why = Validate(options); !why.empty()) {
    throw std::invalid_argument(why);
  }
  Task::Kind kind = Task::Kind::kScore;
  Task::Parse(options.task, &kind);
  return kind;
}

NethackEnv::NethackEnv(const NethackOptions& options, uint64_t seed)
    : options_(options),
      seed_(seed),
      task_(TaskKind(options), options.target_depth) {
  if (access(options.binary.c_str(), R_OK) != 0) {
    throw std::runtime_error("env.nethack_binary: cannot read '" +
                             options.binary +
                             "' (install Debian's nethack-console)");
  }
  std::string shim;
  if (options.completion == Completion::kShim) {
    shim = FindShim(options.shim);
    if (access(shim.c_str(), R_OK) != 0) {
      throw std::runtime_error(
          "env.nethack_shim: cannot read '" + shim +
          "' (build the lantern_nethack_shim target, set env.nethack_shim, "
          "or use env.completion: proc)");
    }
  }
  std::string parent = options.dir;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  playground_ = std::make_unique<Playground>(parent, options.binary, shim,
                                             OptionsText(options));
  StartGame();
}

NethackEnv::~NethackEnv() { game_.Kill(); }

ObsSpec NethackEnv::Spec() const {
  return ObsSpec{.crop = options_.crop,
                 .num_stats = kNumStats,
                 .message_len = options_.message_len};
}

void NethackEnv::StartGame() {
  game_.Kill();
  playground_->Clean();
  screen_.Reset();
  const std::string& dir = playground_->dir();
  Launch launch;
  launch.binary = playground_->game();
  launch.dir = dir;
  launch.completion = options_.completion;
  launch.uid = playground_->uid();
  launch.gid = playground_->gid();
  launch.env = {"TERM=xterm",        "HOME=" + dir,
                "NETHACKDIR=" + dir, "NETHACKOPTIONS=" + dir + "/nethackrc",
                "USER=agent",        "PATH=/usr/bin:/bin"};
  if (options_.completion == Completion::kShim) {
    launch.env.push_back("LD_PRELOAD=" + playground_->shim());
    launch.env.push_back("NH_SEED=" +
                         std::to_string(EpisodeSeed(seed_, episode_)));
    launch.env.push_back("NH_TIME=" + std::to_string(kGameTime));
  }
  game_.Start(launch);
  message_.clear();
  steps_ = 0;
  over_ = false;
  done_ = false;
  const Wait w =
      game_.WaitForInput(screen_, std::max(options_.step_timeout_ms, 5000));
  if (w == Wait::kReady) Settle(-1);
  if (w != Wait::kReady || over_ || !ReadStatus()) {
    const std::string top(Trim(screen_.Row(0)));
    game_.Kill();
    std::string why = w == Wait::kTimeout ? "no input wait within the timeout"
                      : over_ || w == Wait::kExited ? "the game exited"
                                                    : "no status lines";
    if (playground_->uid() >= 0) {
      why += "; it runs as 'nobody', so every directory above " + dir +
             " must be searchable by 'nobody'";
    }
    throw std::runtime_error("nethack did not start (" + why +
                             "); screen top line: '" + top + "'");
  }
  task_.Begin(status_);
  prepared_ = -1;
}

bool NethackEnv::ReadStatus() {
  if (!ParseStatus(screen_.Row(22), screen_.Row(23), &status_)) return false;
  // Waiting for a command, the game leaves the cursor on the hero.
  if (screen_.cursor_row() >= kMapTop && screen_.cursor_row() <= kMapBottom) {
    hero_row_ = screen_.cursor_row();
    hero_col_ = screen_.cursor_col();
  }
  return true;
}

void NethackEnv::Reset() {
  ++episode_;
  StartGame();
}

bool NethackEnv::Press(char key) {
  if (over_) return false;
  if (!game_.Send(key)) {
    over_ = true;
    return false;
  }
  return Await();
}

bool NethackEnv::Await() {
  switch (game_.WaitForInput(screen_, options_.step_timeout_ms)) {
    case Wait::kReady:
      return true;
    case Wait::kTimeout:
      ++wedges_;
      [[fallthrough]];
    case Wait::kExited:
      over_ = true;
      return false;
  }
  return false;
}

void NethackEnv::AddMessage(std::string_view text) {
  text = Trim(text);
  const size_t limit = size_t(kMaxCaptionBytes);
  if (text.empty() || message_.size() + 1 >= limit) return;
  if (!message_.empty()) message_ += ' ';
  message_.append(text.substr(0, limit - message_.size()));
}

void NethackEnv::Settle(int action) {
  std::string question;
  for (int i = 0; i < kMaxPrompts && !over_; ++i) {
    // --More--: keep the page's text, then Enter.
    int more_row = -1;
    size_t more_col = 0;
    for (int r = 0; r < Screen::kRows && more_row < 0; ++r) {
      const size_t c = screen_.Row(r).find("--More--");
      if (c != std::string_view::npos) {
        more_row = r;
        more_col = c;
      }
    }
    if (more_row == 0) {
      AddMessage(screen_.Row(0).substr(0, more_col));
      Press('\r');
      continue;
    }
    if (more_row > 0) {
      // A window in the corner (or the whole screen): its text starts at
      // the column of its --More--.
      for (int r = 0; r < more_row; ++r) {
        AddMessage(screen_.Row(r).substr(more_col));
      }
      Press('\r');
      continue;
    }
    const int row = screen_.cursor_row();
    if (IsMenuEnd(screen_.Row(row))) {
      Press(kEsc);
      continue;
    }
    const std::string_view top = Trim(screen_.Row(0));
    if (row != 0 || top.empty()) {
      // The game waits for a command. An answered question can stay on the
      // top line: it is in the message already.
      if (top != question) AddMessage(top);
      return;
    }
    // A question on the top line (once in the message, however often the
    // game asks it again).
    if (top != question) AddMessage(top);
    question = top;
    if (action < 0 ||
        top.find("In what direction?") != std::string_view::npos) {
      return;  // the next action answers it
    }
    const char answer = ExpectedAnswer(action, top);
    Press(answer != 0 ? answer : kEsc);
  }
}

StepResult NethackEnv::Step(int action) {
  if (action < 0 || action >= kNumActions) {
    throw std::out_of_range("nethack action " + std::to_string(action) +
                            " is outside [0, " + std::to_string(kNumActions) +
                            ")");
  }
  std::string_view keys = ActionKeys(action);
  if (prepared_ >= 0) {  // never set once the episode is done
    if (prepared_ != action) {
      throw std::logic_error("nethack: Step(" + std::to_string(action) +
                             ") after Prepare(" + std::to_string(prepared_) +
                             ")");
    }
    prepared_ = -1;
    Await();  // the first key went out in Prepare()
    keys.remove_prefix(1);
  }
  return Play(keys, action);
}

void NethackEnv::Prepare(int action) {
  if (done_ || over_ || prepared_ >= 0 || action < 0 || action >= kNumActions) {
    return;  // Step() reports what is wrong, or does it all itself
  }
  if (!game_.Send(ActionKeys(action).front())) {
    over_ = true;
    return;
  }
  prepared_ = action;
}

StepResult NethackEnv::StepKeys(std::string_view keys) {
  return Play(keys, -1);
}

StepResult NethackEnv::Play(std::string_view keys, int action) {
  if (done_) return StepResult{.reward = 0, .done = true, .success = false};
  message_.clear();
  for (char k : keys) {
    if (!Press(k)) break;  // false from then on once the game is over
  }
  Settle(action);
  return Finish();
}

StepResult NethackEnv::Finish() {
  StepResult result;
  ++steps_;
  if (!over_ && ReadStatus()) {
    bool task_done = false;
    result.reward = task_.Step(status_, message_, &task_done);
    result.success = task_done;
    result.done = task_done;
  }
  if (over_ || steps_ >= options_.max_steps) result.done = true;
  done_ = result.done;
  return result;
}

void NethackEnv::StatsVector(const Status& s, float* out) {
  int i = 0;
  out[i++] = float(s.strength / 25.0);
  out[i++] = float(s.dexterity / 25.0);
  out[i++] = float(s.constitution / 25.0);
  out[i++] = float(s.intelligence / 25.0);
  out[i++] = float(s.wisdom / 25.0);
  out[i++] = float(s.charisma / 25.0);
  out[i++] = float(s.depth / 10.0);
  out[i++] = float(std::log1p(double(std::max<int64_t>(s.gold, 0))) / 5.0);
  out[i++] = float(double(s.hp) / std::max(1, s.max_hp));
  out[i++] = float(s.max_hp / 100.0);
  out[i++] = float(double(s.power) / std::max(1, s.max_power));
  out[i++] = float(s.max_power / 100.0);
  out[i++] = float(s.armor_class / 10.0);
  out[i++] = float(s.level / 10.0);
  out[i++] =
      float(std::log1p(double(std::max<int64_t>(s.experience, 0))) / 5.0);
  out[i++] = float(std::log1p(double(std::max<int64_t>(s.time, 0))) / 10.0);
  out[i++] = float(s.hunger / 2.0);
  out[i++] = float(s.encumbrance / 2.0);
  for (int b = 0; b < kNumConditions; ++b) {
    out[i++] = (s.conditions >> b) & 1u ? 1.0f : 0.0f;
  }
}

Frame NethackEnv::Render() const {
  const auto& chars = screen_.chars();
  const auto& colours = screen_.colours();
  return Frame{Screen::kRows, Screen::kCols,
               std::string(chars.begin(), chars.end()),
               std::vector<uint8_t>(colours.begin(), colours.end())};
}

void NethackEnv::Observe(const ObsView& out) const {
  const int crop = options_.crop;
  const int half = crop / 2;
  for (int dy = 0; dy < crop; ++dy) {
    const int r = hero_row_ + dy - half;
    uint8_t* dst = out.chars + dy * crop;
    if (r < kMapTop || r > kMapBottom) {
      std::memset(dst, ' ', size_t(crop));
      continue;
    }
    const std::string_view row = screen_.Row(r);
    for (int dx = 0; dx < crop; ++dx) {
      const int c = hero_col_ + dx - half;
      dst[dx] = c < 0 || c >= Screen::kCols ? ' ' : uint8_t(row[size_t(c)]);
    }
  }
  StatsVector(status_, out.stats);
  const size_t n = std::min(message_.size(), size_t(options_.message_len));
  std::memcpy(out.message, message_.data(), n);
  std::memset(out.message + n, 0, size_t(options_.message_len) - n);
}

}  // namespace lantern::actor::nethack
