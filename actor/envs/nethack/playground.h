#pragma once

#include <string>

namespace lantern::actor::nethack {

// One env's private NetHack directory (NETHACKDIR and working directory):
//   nhdat, symbols, license   symlinks into the game's data directory
//   record logfile xlogfile perm   empty, writable
//   save/                     empty
//   nethackrc                 the options file
// Playgrounds live under one root per process, <parent>/lantern-nethack-XXXXXX,
// which also holds a non-setgid copy of the game binary (a setgid binary
// would ignore LD_PRELOAD and hide /proc/PID/io) and a copy of the preload
// shim (so the game's identity can read it wherever the build lives). A reaper
// process started with the root removes it once this process has exited,
// however it exits (SIGKILL included), so no stray files outlive an actor.
//
// When running as root, the playground belongs to "nobody" and uid()/gid()
// name that identity for the game; otherwise they are -1 (keep our own).
class Playground {
 public:
  // Creates the playground. `binary` is the game (its directory holds nhdat
  // and symbols); `shim` the preload library ("" for none); `options` the
  // text of nethackrc. Throws std::runtime_error naming the path that
  // failed. Thread-safe.
  Playground(const std::string& parent, const std::string& binary,
             const std::string& shim, const std::string& options);
  // Removes the playground directory.
  ~Playground();
  Playground(const Playground&) = delete;
  Playground& operator=(const Playground&) = delete;

  const std::string& dir() const { return dir_; }
  // The root's non-setgid copy of the game binary.
  const std::string& game() const { return game_; }
  // The root's copy of the shim; "" when there is none.
  const std::string& shim() const { return shim_; }
  int uid() const { return uid_; }
  int gid() const { return gid_; }

  // After a game was killed: removes its level files and locks, empties
  // save/ and truncates record, logfile and xlogfile, so the next game starts
  // as the first one did. Throws std::runtime_error on failure.
  void Clean();

 private:
  std::string dir_;
  std::string game_;
  std::string shim_;
  int uid_ = -1;
  int gid_ = -1;
};

}  // namespace lantern::actor::nethack
