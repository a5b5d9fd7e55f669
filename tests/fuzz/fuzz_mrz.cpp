// libFuzzer target for the MRZ parser (src/document/mrz.cpp).  Build and run with
// scripts/fuzz.sh.  Input: an optional "YYYY-MM-DD|" prefix sets the check date, the rest is the
// MRZ text.  Besides the sanitizers, it checks the promises of mrz.h and aborts when one is
// broken.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "document/mrz.h"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace simkyc;
  using namespace simkyc::document;
  using namespace std::chrono;
  // "YYYY-MM-DD|" at the start sets the check date; otherwise it is 2024-06-01.
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Date at{year{2024}, June, day{1}};
  if (text.size() >= 11 && text[10] == '|') {
    if (const auto d = parse_iso_date(text.substr(0, 10))) {
      require(format_iso_date(*d) == text.substr(0, 10));
      at = *d;
      text.remove_prefix(11);
    }
  }

  const MrzResult r = check_mrz(text, at);
  const auto& reasons = r.check.reasons;
  const bool only_expired = std::all_of(reasons.begin(), reasons.end(),
                                        [](Reason x) { return x == Reason::kDocumentExpired; });
  require(r.check.valid == only_expired);
  require(r.check.expired ==
          (std::find(reasons.begin(), reasons.end(), Reason::kDocumentExpired) != reasons.end()));
  require(r.check.ok() == reasons.empty());
  if (r.check.expired) require(r.check.expiry_date && *r.check.expiry_date < at);
  if (r.check.birth_date) {
    require(r.check.birth_date->ok() && *r.check.birth_date <= at);
    require(r.check.age && r.check.minor == (*r.check.age < 18));
  }
  if (!r.format) require(r.lines.empty() && r.corrections.empty() && reasons.size() == 1);
  for (const auto& c : r.corrections) {
    // Only a confusable letter may be corrected, only to its digit, and the line shows the fix.
    require(std::string_view("OIBSZG").find(c.from) != std::string_view::npos);
    require(c.to >= '0' && c.to <= '9');
    require(c.line >= 1 && static_cast<std::size_t>(c.line) <= r.lines.size());
    const std::string& line = r.lines[static_cast<std::size_t>(c.line - 1)];
    require(c.column >= 1 && static_cast<std::size_t>(c.column) <= line.size());
    require(line[static_cast<std::size_t>(c.column - 1)] == c.to);
  }
  if (r.format) {
    // The corrected lines are a fixed point: checking them again needs no correction and gives
    // the same verdict.
    std::string joined;
    for (const auto& l : r.lines) joined += l + "\n";
    const MrzResult again = check_mrz(joined, at);
    require(again.corrections.empty());
    require(again.check.reasons == reasons);
  }
  // JSON output is slow under the sanitizers and simple: exercise it on one input in eight.
  if (size % 8 == 0) {
    (void)to_json(r).dump();
  }
  return 0;
}
