// A plain main() for fuzz targets, used when not building with libFuzzer so
// that every build exercises the harness. It runs LLVMFuzzerTestOneInput on:
//   - the built-in seeds (fuzz::seeds()),
//   - any files named on the command line (directories: every file in them),
// and, for each of those inputs, on every prefix and on a fixed number of
// deterministic mutations (bit flips, byte changes, insertions, deletions,
// duplicated ranges). A crash or an abort in the harness fails the test.
//
// Usage: fuzz_driver [--mutations N] [--write-seeds DIR] [FILE|DIR...]
//   --write-seeds DIR  write the built-in seeds to DIR (a libFuzzer corpus)
//                      and exit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nbd_wire_fuzz_seeds.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Input = std::vector<std::uint8_t>;

struct Rng {
  std::uint64_t s = 0x9e3779b97f4a7c15;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

std::size_t runs = 0;

void run(const Input& in) {
  LLVMFuzzerTestOneInput(in.data(), in.size());
  ++runs;
}

Input mutate(Input in, Rng& rng) {
  const int steps = 1 + static_cast<int>(rng.below(4));
  for (int i = 0; i < steps; ++i) {
    // Keep the target byte most of the time, so mutations stay on target.
    const std::size_t lo = in.size() > 1 && rng.below(8) != 0 ? 1 : 0;
    const std::size_t span = in.size() - lo;
    switch (rng.below(6)) {
      case 0:  // flip a bit
        if (span) in[lo + rng.below(span)] ^= static_cast<std::uint8_t>(1u << rng.below(8));
        break;
      case 1:  // set a byte to an interesting value
        if (span) {
          static const std::uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20};
          in[lo + rng.below(span)] = interesting[rng.below(std::size(interesting))];
        }
        break;
      case 2:  // insert random bytes
        for (std::size_t k = rng.below(8) + 1; k > 0; --k) {
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(lo + rng.below(span + 1)),
                    static_cast<std::uint8_t>(rng.next()));
        }
        break;
      case 3:  // erase a range
        if (span) {
          const std::size_t at = lo + rng.below(span);
          const std::size_t n = 1 + rng.below(in.size() - at);
          in.erase(in.begin() + static_cast<std::ptrdiff_t>(at),
                   in.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        break;
      case 4:  // duplicate a range
        if (span) {
          const std::size_t at = lo + rng.below(span);
          const std::size_t n = 1 + rng.below(std::min<std::size_t>(in.size() - at, 64));
          Input copy(in.begin() + static_cast<std::ptrdiff_t>(at),
                     in.begin() + static_cast<std::ptrdiff_t>(at + n));
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(lo + rng.below(span + 1)),
                    copy.begin(), copy.end());
        }
        break;
      default:  // overwrite a 32-bit field with a boundary value
        if (span >= 4) {
          static const std::uint32_t values[] = {0, 1, 0xffffffff, 0x80000000, 0x1000, 0xfffffff8};
          const std::uint32_t v = values[rng.below(std::size(values))];
          const std::size_t at = lo + rng.below(span - 3);
          for (int b = 0; b < 4; ++b) in[at + b] = static_cast<std::uint8_t>(v >> (24 - 8 * b));
        }
        break;
    }
  }
  return in;
}

bool read_file(const std::filesystem::path& p, Input& out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mutations = 2000;
  std::vector<Input> inputs = nbd::fuzz::seeds();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mutations" && i + 1 < argc) {
      mutations = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--write-seeds" && i + 1 < argc) {
      const std::filesystem::path dir = argv[++i];
      std::filesystem::create_directories(dir);
      const auto seeds = nbd::fuzz::seeds();
      for (std::size_t k = 0; k < seeds.size(); ++k) {
        std::ofstream f(dir / ("seed-" + std::to_string(k)), std::ios::binary);
        f.write(reinterpret_cast<const char*>(seeds[k].data()),
                static_cast<std::streamsize>(seeds[k].size()));
      }
      std::printf("wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
      return 0;
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        Input in;
        if (entry.is_regular_file() && read_file(entry.path(), in)) inputs.push_back(std::move(in));
      }
    } else {
      Input in;
      if (!read_file(arg, in)) {
        std::fprintf(stderr, "cannot read %s\n", arg.c_str());
        return 2;
      }
      inputs.push_back(std::move(in));
    }
  }

  Rng rng;
  for (const Input& in : inputs) {
    run(in);
    for (std::size_t n = 0; n < in.size(); ++n)
      run(Input(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n)));
    for (std::size_t m = 0; m < mutations; ++m) run(mutate(in, rng));
  }
  std::printf("%zu inputs, %zu runs: ok\n", inputs.size(), runs);
  return 0;
}
