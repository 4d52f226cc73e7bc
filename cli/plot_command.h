#pragma once

#include <string>
#include <vector>

namespace lantern::cli {

// `lantern plot RUN_DIR... [--out DIR] [--tags T,...]`: runs scripts/plot.py
// with Debian's /usr/bin/python3 (python3-matplotlib), which writes PNG
// learning curves from each run's metrics/learner.csv. Returns its exit
// status, or 2 with a message if the script or Python is missing.
int Plot(const std::vector<std::string>& run_dirs, const std::string& out,
         const std::string& tags, const std::string& bin_dir);

// The folder holding Lantern's scripts: $LANTERN_SCRIPTS_DIR, the source
// tree's scripts/ (next to build/bin), or <prefix>/share/lantern/scripts.
// Empty if none holds `script`.
std::string ScriptsDir(const std::string& bin_dir, const std::string& script);

}  // namespace lantern::cli
