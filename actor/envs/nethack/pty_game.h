#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "actor/envs/nethack/screen.h"

namespace lantern::actor::nethack {

// How the driver learns that the game is blocked reading the terminal again.
enum class Completion {
  kShim,  // the preload shim writes a byte to a pipe (exact, cheapest)
  kProc,  // /proc/PID/io and /proc/PID/syscall (no shim; ~2x the CPU)
};

// What to run and how to confine it.
struct Launch {
  std::string binary;  // a non-setgid copy of the game
  std::string dir;     // working directory (the playground)
  // The whole environment, "KEY=value"; kShim adds NH_MARKER_FD.
  std::vector<std::string> env;
  Completion completion = Completion::kShim;
  int uid = -1;  // switch to this uid/gid when >= 0
  int gid = -1;
  uint64_t max_address_space = uint64_t{1} << 30;  // RLIMIT_AS, bytes
  uint64_t max_file_size = uint64_t{64} << 20;     // RLIMIT_FSIZE, bytes
  uint64_t max_cpu_s = 3600;                       // RLIMIT_CPU, seconds
};

// The result of waiting for the game.
enum class Wait {
  kReady,    // blocked reading the terminal; all its output is on the screen
  kExited,   // the process ended (death, quit) or closed the terminal
  kTimeout,  // neither within the timeout: a wedge
};

// One game process in a 24x80 pseudo-terminal. The child gets a new session
// with the terminal as its controlling tty, the environment in Launch and
// nothing else, resource limits, and PR_SET_PDEATHSIG(SIGKILL): it dies with
// the thread that started it. Not thread-safe; one thread drives one game.
class PtyGame {
 public:
  PtyGame() = default;
  ~PtyGame() { Kill(); }
  PtyGame(const PtyGame&) = delete;
  PtyGame& operator=(const PtyGame&) = delete;

  // Starts the process. Throws std::system_error when the terminal, the pipe
  // or the fork fails; an exec failure shows up as kExited from Wait().
  void Start(const Launch& launch);

  // Sends one byte as a key press. False when the game is gone.
  bool Send(char key);

  // Feeds the game's output into `screen` until the game blocks reading the
  // terminal, exits, or `timeout_ms` passes.
  Wait WaitForInput(Screen& screen, int timeout_ms);

  // SIGKILL (never SIGHUP: that makes NetHack save the game), reap, close.
  // Does nothing when no game runs.
  void Kill();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  // Moves whatever the terminal holds now into `screen`. False on EOF/EIO.
  bool Drain(Screen& screen);
  Wait WaitShim(Screen& screen, int timeout_ms);
  Wait WaitProc(Screen& screen, int timeout_ms);
  // Reads /proc/PID/<name> into `buf` (NUL-terminated); false if it cannot.
  bool ReadProc(const char* name, char* buf, size_t size) const;
  // /proc/PID/io's syscr, or -1 when unreadable.
  int64_t ReadCalls() const;
  bool BlockedOnTerminal() const;

  Completion completion_ = Completion::kShim;
  pid_t pid_ = -1;
  int master_ = -1;
  int marker_ = -1;  // read end of the shim's pipe
  int64_t calls_at_send_ = 0;
};

}  // namespace lantern::actor::nethack
