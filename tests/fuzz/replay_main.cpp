// SPDX-License-Identifier: Apache-2.0
// main() for fuzz targets built without libFuzzer (INVAR_FUZZ=OFF): replays
// every file of the corpus directories given on the command line through
// LLVMFuzzerTestOneInput, then deterministic mutations of each (bit flips,
// truncations, byte insertions and deletions, splices of two inputs, chunk
// duplication), so the regular and the ASan test runs exercise the fuzz entry
// points. A failing input aborts (the test fails with the sanitizer report).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Mutate(const std::string& a, const std::string& b, std::mt19937_64& rng) {
  std::string s = a;
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const size_t n = s.size();
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (n > 0) s[rng() % n] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // truncate
        if (n > 0) s.resize(rng() % n);
        break;
      case 2: {  // insert a structural or random byte
        static constexpr char kBytes[] = "{}[]:,\"'-#&*!|>\n \\0x\xff";
        char c = rng() % 2 ? kBytes[rng() % (sizeof(kBytes) - 1)] : static_cast<char>(rng());
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(n ? rng() % (n + 1) : 0), c);
        break;
      }
      case 3:  // delete a range
        if (n > 0) {
          size_t at = rng() % n;
          s.erase(at, 1 + rng() % std::min<size_t>(16, n - at));
        }
        break;
      case 4:  // splice with another input
        if (!b.empty()) s = s.substr(0, n ? rng() % n : 0) + b.substr(rng() % b.size());
        break;
      case 5:  // duplicate a chunk (deepens nesting, repeats keys)
        if (n > 0) {
          size_t at = rng() % n;
          size_t len = 1 + rng() % std::min<size_t>(64, n - at);
          s.insert(at, s.substr(at, len));
        }
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i], ec)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      corpus.push_back(ss.str());
    }
  }
  if (corpus.empty()) {
    // No seed corpus (yet): mutate a few generic seeds instead.
    std::fprintf(stderr, "replay: no corpus files found, using generic seeds\n");
    corpus = {"{}", "[]", "null", "{\"a\":[1,\"b\",{\"c\":null}]}", "a: [b, {c: d}]\n---\n- e\n",
              std::string(300, '['), std::string(300, '{')};
  }
  Run("");
  std::mt19937_64 rng(20261127);
  size_t runs = 1;
  for (const auto& input : corpus) {
    Run(input);
    ++runs;
    for (int m = 0; m < 300; ++m) {
      Run(Mutate(input, corpus[rng() % corpus.size()], rng));
      ++runs;
    }
  }
  std::printf("replay: %zu corpus files, %zu inputs, no failure\n", corpus.size(), runs);
  return 0;
}
