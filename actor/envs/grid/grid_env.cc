#include "actor/envs/grid/grid_env.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "actor/envs/episode_seed.h"

namespace lantern::actor {
namespace {

constexpr int kWait = 4;
constexpr int kDx[4] = {0, 1, 0, -1};
constexpr int kDy[4] = {-1, 0, 1, 0};

constexpr char kFloor = '.';
constexpr char kHorizontalWall = '-';
constexpr char kVerticalWall = '|';
constexpr char kKey = '(';
constexpr char kLockedDoor = '+';
constexpr char kStairs = '>';

constexpr std::string_view kDistractors[] = {
    "You hear a bird.",
    "The floor creaks.",
    "You hear some noises in the distance.",
    "You hear the splashing of a naiad.",
    "You hear a door open.",
};
constexpr int kNumDistractors =
    static_cast<int>(sizeof(kDistractors) / sizeof(kDistractors[0]));

}  // namespace

std::string GridEnv::Validate(const GridOptions& o) {
  std::string errors;
  auto fail = [&errors](const std::string& message) {
    if (!errors.empty()) errors += "; ";
    errors += message;
  };
  const bool key_door = o.layout == "key_door";
  if (!key_door && o.layout != "open") {
    fail("layout must be \"key_door\" or \"open\", got \"" + o.layout + "\"");
  }
  // key_door needs two columns per room plus the splitting wall, so that the
  // agent and the key never fill a room and every door row is reachable.
  const int min_width = key_door ? kMinWidthKeyDoor : kMinSide;
  if (o.width < min_width || o.width > kMaxSide) {
    fail("width must be in [" + std::to_string(min_width) + ", " +
         std::to_string(kMaxSide) + "] for layout \"" + o.layout + "\", got " +
         std::to_string(o.width));
  }
  if (o.height < kMinSide || o.height > kMaxSide) {
    fail("height must be in [" + std::to_string(kMinSide) + ", " +
         std::to_string(kMaxSide) + "], got " + std::to_string(o.height));
  }
  if (o.crop < 1 || o.crop > kMaxCrop || o.crop % 2 == 0) {
    fail("crop must be odd and in [1, " + std::to_string(kMaxCrop) + "], got " +
         std::to_string(o.crop));
  }
  if (o.message_len < 1 || o.message_len > kMaxMessageLen) {
    fail("message_len must be in [1, " + std::to_string(kMaxMessageLen) +
         "], got " + std::to_string(o.message_len));
  }
  if (o.max_steps < 1) {
    fail("max_steps must be >= 1, got " + std::to_string(o.max_steps));
  }
  // Written so that NaN fails too.
  if (!(o.distractor_prob >= 0.0 && o.distractor_prob <= 1.0)) {
    fail("distractor_prob must be in [0, 1], got " +
         std::to_string(o.distractor_prob));
  }
  return errors;
}

GridEnv::GridEnv(const GridOptions& options, uint64_t seed)
    : width_(options.width),
      height_(options.height),
      crop_(options.crop),
      message_len_(options.message_len),
      max_steps_(options.max_steps),
      dense_(options.dense),
      key_door_(options.layout == "key_door"),
      seed_(seed) {
  if (std::string errors = Validate(options); !errors.empty()) {
    throw std::invalid_argument("GridOptions: " + errors);
  }
  // Comparing 53 random bits against p * 2^53 avoids a float conversion per
  // step; p = 1 gives 2^53, above every draw.
  distractor_threshold_ =
      static_cast<uint64_t>(std::ldexp(options.distractor_prob, 53));
  stride_ = width_ + 2;
  map_.assign(static_cast<size_t>(stride_) * (height_ + 2), kFloor);
  Reset();
}

ObsSpec GridEnv::Spec() const {
  return ObsSpec{
      .crop = crop_, .num_stats = kNumStats, .message_len = message_len_};
}

GridEnv::Pos GridEnv::RandomCell(int x0, int x1, int y0, int y1) {
  return Pos{x0 + rng_.Below(x1 - x0 + 1), y0 + rng_.Below(y1 - y0 + 1)};
}

void GridEnv::Reset() {
  // A fresh stream per episode makes episode k's layout independent of how
  // many distractor draws earlier episodes used.
  rng_.state = EpisodeSeed(seed_, episode_++);

  std::fill(map_.begin(), map_.end(), kFloor);
  for (int x = 0; x < stride_; ++x) {
    At(x, 0) = kHorizontalWall;
    At(x, height_ + 1) = kHorizontalWall;
  }
  for (int y = 1; y <= height_; ++y) {
    At(0, y) = kVerticalWall;
    At(width_ + 1, y) = kVerticalWall;
  }

  if (key_door_) {
    // Wall column in [3, width - 2]: both rooms are at least two columns
    // wide, so both cells beside the door are floor.
    const int wall = 3 + rng_.Below(width_ - 4);
    for (int y = 1; y <= height_; ++y) At(wall, y) = kVerticalWall;
    door_ = Pos{wall, 1 + rng_.Below(height_)};
    At(door_.x, door_.y) = kLockedDoor;
    agent_ = RandomCell(1, wall - 1, 1, height_);
    // The left room has at least 2 x 2 cells: few rejections.
    do {
      key_ = RandomCell(1, wall - 1, 1, height_);
    } while (key_.x == agent_.x && key_.y == agent_.y);
    At(key_.x, key_.y) = kKey;
    stairs_ = RandomCell(wall + 1, width_, 1, height_);
  } else {
    agent_ = RandomCell(1, width_, 1, height_);
    do {
      stairs_ = RandomCell(1, width_, 1, height_);
    } while (stairs_.x == agent_.x && stairs_.y == agent_.y);
    key_ = door_ = Pos{};
  }
  At(stairs_.x, stairs_.y) = kStairs;

  steps_ = 0;
  has_key_ = false;
  door_open_ = false;
  done_ = false;
  success_ = false;
  // Objects the layout lacks count as seen, so they are never announced.
  seen_key_ = !key_door_;
  seen_door_ = !key_door_;
  seen_stairs_ = false;
  caption_len_ = 0;
  NoteSights();
}

StepResult GridEnv::Step(int action) {
  if (action < 0 || action >= kNumActions) {
    throw std::out_of_range("GridEnv::Step: action " + std::to_string(action) +
                            " is not in [0, 5)");
  }
  StepResult result;
  if (done_) {
    result.done = true;
    result.success = success_;
    return result;
  }
  caption_len_ = 0;
  ++steps_;

  if (action != kWait) {
    const Pos next{agent_.x + kDx[action], agent_.y + kDy[action]};
    // The interior is walled in, so `next` is always inside the map.
    char& cell = At(next.x, next.y);
    switch (cell) {
      case kHorizontalWall:
      case kVerticalWall:
        break;  // NetHack says nothing when you walk into a wall.
      case kLockedDoor:
        // Unlocking takes the turn, as in NetHack; the agent stays put.
        if (has_key_) {
          cell = kOpenDoor;
          door_open_ = true;
          Say("You unlock the door.");
          if (dense_) result.reward += 0.25f;
        } else {
          Say("The door is locked.");
        }
        break;
      default:
        agent_ = next;
        if (cell == kKey) {
          cell = kFloor;
          has_key_ = true;
          Say("You pick up the key.");
          if (dense_) result.reward += 0.25f;
        } else if (cell == kStairs) {
          done_ = true;
          success_ = true;
          Say("You climb down the stairs.");
          result.reward += 1.0f;
        }
        break;
    }
  }
  if (!done_) NoteSights();
  if (steps_ >= max_steps_) done_ = true;

  if (caption_len_ == 0 && distractor_threshold_ != 0 &&
      (rng_.Next() >> 11) < distractor_threshold_) {
    Say(kDistractors[rng_.Below(kNumDistractors)]);
  }
  result.done = done_;
  result.success = success_;
  return result;
}

bool GridEnv::InCrop(Pos p) const {
  // The agent's own cell shows '@', so an object under it is not "seen".
  const int r = crop_ / 2;
  const int dx = p.x - agent_.x;
  const int dy = p.y - agent_.y;
  return (dx != 0 || dy != 0) && dx >= -r && dx <= r && dy >= -r && dy <= r;
}

void GridEnv::NoteSights() {
  // A key picked up before it was ever in view is never announced.
  if (!seen_key_ && !has_key_ && InCrop(key_)) {
    seen_key_ = true;
    Say("You see a key.");
  }
  if (!seen_door_ && InCrop(door_)) {
    seen_door_ = true;
    Say("You see a door.");
  }
  if (!seen_stairs_ && InCrop(stairs_)) {
    seen_stairs_ = true;
    Say("You see a staircase.");
  }
}

void GridEnv::Say(std::string_view sentence) {
  // The longest possible caption is about 140 bytes, well under kMaxCaption;
  // the clamp only guards against a future longer sentence.
  const int space = caption_len_ > 0 ? 1 : 0;
  const int n = std::min(static_cast<int>(sentence.size()),
                         kMaxCaption - caption_len_ - space);
  if (n <= 0) return;
  if (space) caption_[caption_len_++] = ' ';
  std::memcpy(caption_.data() + caption_len_, sentence.data(), n);
  caption_len_ += n;
}

Frame GridEnv::Render() const {
  Frame f{height_ + 2, stride_, std::string(map_.begin(), map_.end()),
          std::vector<uint8_t>(map_.size(), 7)};
  for (size_t i = 0; i < f.chars.size(); ++i) {
    switch (f.chars[i]) {
      case kKey:
        f.colours[i] = 14;  // bright cyan
        break;
      case kLockedDoor:
      case kOpenDoor:
        f.colours[i] = 3;  // brown, as NetHack draws doors
        break;
      case kStairs:
        f.colours[i] = 15;
        break;
      default:
        break;
    }
  }
  const size_t agent = size_t(agent_.y * stride_ + agent_.x);
  f.chars[agent] = '@';
  f.colours[agent] = 11;  // bright yellow
  return f;
}

void GridEnv::Observe(const ObsView& out) const {
  const int r = crop_ / 2;
  const int x0 = agent_.x - r;
  // Crop columns [lo, hi) fall inside the map; the agent's column always
  // does, so lo < hi.
  const int lo = std::max(0, -x0);
  const int hi = std::min(crop_, stride_ - x0);
  uint8_t* row = out.chars;
  for (int cy = 0; cy < crop_; ++cy, row += crop_) {
    const int y = agent_.y - r + cy;
    if (y < 0 || y > height_ + 1) {
      std::memset(row, ' ', crop_);
      continue;
    }
    std::memset(row, ' ', lo);
    std::memcpy(row + lo, &map_[y * stride_ + x0 + lo], hi - lo);
    std::memset(row + hi, ' ', crop_ - hi);
  }
  out.chars[r * crop_ + r] = '@';

  out.stats[0] = has_key_ ? 1.0f : 0.0f;
  out.stats[1] = door_open_ ? 1.0f : 0.0f;
  out.stats[2] = static_cast<float>(agent_.x - 1) / (width_ - 1);
  out.stats[3] = static_cast<float>(agent_.y - 1) / (height_ - 1);
  out.stats[4] = static_cast<float>(steps_) / max_steps_;

  const int n = std::min(caption_len_, message_len_);
  std::memcpy(out.message, caption_.data(), n);
  std::memset(out.message + n, 0, message_len_ - n);
}

}  // namespace lantern::actor
