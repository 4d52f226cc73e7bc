// One libFuzzer target: LANTERN_FUZZ_TARGET names an entry of
// fuzz/entries.h (the build defines it per executable). With
// $LANTERN_FUZZ_SEED_DIR set, the target first writes its generated seeds
// there (scripts/fuzz.sh points it at the corpus).
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fuzz/entries.h"

namespace {

using Run = void (*)(std::string_view);

Run Entry() {
  for (const lantern::fuzz::Target& t : lantern::fuzz::Targets()) {
    if (std::string(t.name) == LANTERN_FUZZ_TARGET) return t.run;
  }
  std::abort();  // a build error: no such target
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("LANTERN_FUZZ_SEED_DIR")) {
    for (const auto& [name, bytes] :
         lantern::fuzz::Seeds(LANTERN_FUZZ_TARGET)) {
      std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << bytes;
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Run run = Entry();
  run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
