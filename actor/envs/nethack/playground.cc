#include "actor/envs/nethack/playground.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace lantern::actor::nethack {
namespace fs = std::filesystem;
namespace {

constexpr const char* kDataFiles[] = {"nhdat", "symbols", "license"};
constexpr const char* kEmptyFiles[] = {"record", "logfile", "xlogfile", "perm"};
constexpr const char* kOptionsFile = "nethackrc";

[[noreturn]] void Fail(const std::string& what, const fs::path& path,
                       int error = errno) {
  throw std::runtime_error("nethack playground: " + what + " " + path.string() +
                           ": " + std::strerror(error));
}

// Waits, in its own session, for the EOF of a pipe whose write end only this
// process holds, then removes `root` (retrying while dying games still write).
void StartReaper(const std::string& root) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) Fail("pipe for the reaper of", root);
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  static const char* kScript =
      "trap '' HUP INT TERM PIPE\n"
      "while read -r _; do :; done\n"
      "i=0\n"
      "while [ -e \"$0\" ] && [ $i -lt 100 ]; do\n"
      "  rm -rf -- \"$0\" 2>/dev/null || sleep 0.05\n"
      "  i=$((i+1))\n"
      "done\n";
  const char* argv[] = {"sh", "-c", kScript, root.c_str(), nullptr};
  const char* envp[] = {"PATH=/usr/bin:/bin", nullptr};
  const pid_t pid = fork();
  if (pid < 0) Fail("fork a reaper for", root);
  if (pid == 0) {
    setsid();
    dup2(fds[0], 0);
    dup2(null, 1);
    dup2(null, 2);
    close_range(3, ~0u, 0);
    execve("/bin/sh", const_cast<char**>(argv), const_cast<char**>(envp));
    _exit(127);
  }
  close(fds[0]);
  close(null);
  // fds[1] stays open (close-on-exec) for the life of this process.
}

// The process-wide root under one parent directory.
struct Root {
  std::string path;
  std::string game;
  std::string shim;
  std::atomic<int> next{0};
};

void CopyExecutable(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, ec);
  if (ec) Fail("cannot copy " + from.string() + " to", to, ec.value());
  // The copy has no setgid bit; others may run it (the game's identity).
  fs::permissions(to,
                  fs::perms::owner_all | fs::perms::group_read |
                      fs::perms::group_exec | fs::perms::others_read |
                      fs::perms::others_exec,
                  ec);
  if (ec) Fail("cannot chmod", to, ec.value());
}

Root& RootFor(const std::string& parent, const std::string& binary,
              const std::string& shim) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Root>>* roots =
      new std::map<std::string, std::unique_ptr<Root>>();
  std::lock_guard lock(mu);
  const std::string key = parent + '\0' + binary + '\0' + shim;
  auto it = roots->find(key);
  if (it != roots->end()) return *it->second;
  std::string pattern = (fs::path(parent) / "lantern-nethack-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    Fail("cannot create a directory in", parent);
  auto root = std::make_unique<Root>();
  root->path = pattern;
  StartReaper(root->path);
  // Others may enter (the game may run as "nobody") but not list.
  chmod(root->path.c_str(), 0711);
  root->game = (fs::path(root->path) / "nethack").string();
  CopyExecutable(binary, root->game);
  if (!shim.empty()) {
    root->shim = (fs::path(root->path) / "shim.so").string();
    CopyExecutable(shim, root->shim);
  }
  return *roots->emplace(key, std::move(root)).first->second;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.good()) Fail("cannot write", path);
}

}  // namespace

Playground::Playground(const std::string& parent, const std::string& binary,
                       const std::string& shim, const std::string& options) {
  Root& root = RootFor(parent, binary, shim);
  game_ = root.game;
  shim_ = root.shim;
  const fs::path dir = fs::path(root.path) / std::to_string(root.next++);
  dir_ = dir.string();
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec) Fail("cannot create", dir, ec.value());
  fs::create_directory(dir / "save", ec);
  if (ec) Fail("cannot create", dir / "save", ec.value());
  const fs::path data = fs::path(binary).parent_path();
  for (const char* name : kDataFiles) {
    if (!fs::exists(data / name)) continue;  // license is optional
    fs::create_symlink(data / name, dir / name, ec);
    if (ec) Fail("cannot link", dir / name, ec.value());
  }
  if (!fs::exists(data / "nhdat"))
    Fail("no nhdat next to the game in", data, ENOENT);
  for (const char* name : kEmptyFiles) WriteFile(dir / name, "");
  WriteFile(dir / kOptionsFile, options);
  if (geteuid() == 0) {
    // Never run the game as root: it belongs to "nobody".
    const passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr) Fail("no user 'nobody' for", dir, ENOENT);
    uid_ = int(nobody->pw_uid);
    gid_ = int(nobody->pw_gid);
    for (const fs::path& p : {dir, dir / "save"}) {
      if (chown(p.c_str(), uid_t(uid_), gid_t(gid_)) < 0)
        Fail("cannot chown", p);
    }
    for (const char* name : kEmptyFiles) {
      if (chown((dir / name).c_str(), uid_t(uid_), gid_t(gid_)) < 0) {
        Fail("cannot chown", dir / name);
      }
    }
  }
}

Playground::~Playground() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void Playground::Clean() {
  const fs::path dir(dir_);
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    bool keep = name == kOptionsFile || name == "save";
    for (const char* n : kDataFiles) keep = keep || name == n;
    for (const char* n : kEmptyFiles) keep = keep || name == n;
    if (!keep) fs::remove_all(entry.path(), ec);
  }
  if (ec) Fail("cannot clean", dir, ec.value());
  for (const fs::directory_entry& entry :
       fs::directory_iterator(dir / "save", ec)) {
    fs::remove_all(entry.path(), ec);
  }
  for (const char* name : kEmptyFiles) {
    if (truncate((dir / name).c_str(), 0) < 0)
      Fail("cannot truncate", dir / name);
  }
}

}  // namespace lantern::actor::nethack
