#include "cli/plot_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/process.h"

namespace lantern::cli {

std::string ScriptsDir(const std::string& bin_dir, const std::string& script) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LANTERN_SCRIPTS_DIR"); env && *env) {
    candidates.push_back(env);
  }
  candidates.push_back(bin_dir + "/../../scripts");
  candidates.push_back(bin_dir + "/../share/lantern/scripts");
  for (const std::string& dir : candidates) {
    if (std::filesystem::exists(dir + "/" + script)) {
      return std::filesystem::weakly_canonical(dir).string();
    }
  }
  return "";
}

int Plot(const std::vector<std::string>& run_dirs, const std::string& out,
         const std::string& tags, const std::string& bin_dir) {
  const std::string dir = ScriptsDir(bin_dir, "plot.py");
  if (dir.empty()) {
    std::fprintf(stderr,
                 "error: plot.py not found (set LANTERN_SCRIPTS_DIR to the "
                 "folder holding Lantern's scripts)\n");
    return 2;
  }
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0) {
    std::fprintf(stderr,
                 "error: %s not found: install python3 and "
                 "python3-matplotlib (scripts/deps.sh does)\n",
                 python);
    return 2;
  }
  std::vector<std::string> args = {python, dir + "/plot.py"};
  args.insert(args.end(), run_dirs.begin(), run_dirs.end());
  if (!out.empty()) args.insert(args.end(), {"--out", out});
  if (!tags.empty()) args.insert(args.end(), {"--tags", tags});
  return RunToEnd(args);
}

}  // namespace lantern::cli
