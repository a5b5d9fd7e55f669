// libFuzzer target for the resident ID number parser (src/document/id_number.cpp).
// Build and run with scripts/fuzz.sh.  Input: an optional "YYYY-MM-DD|" prefix sets the check
// date (so the date rules are fuzzed too), the rest is the ID number text.  Besides the
// sanitizers, it checks the promises of id_number.h and aborts when one is broken.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "document/id_number.h"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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

  const IdNumberResult r = check_id_number(text, at);
  require(r.check.kind == DocumentKind::kCnResidentId);
  require(r.check.valid == r.check.reasons.empty());
  require(!r.check.expired);
  require(r.number.empty() || r.number.size() == 18);
  if (r.check.birth_date) {
    require(r.check.birth_date->ok() && *r.check.birth_date <= at);
    require(r.check.age && *r.check.age >= 0 && r.check.minor == (*r.check.age < 18));
  }
  if (r.check.valid) {
    // A valid number stays valid once normalised, and its check character is right.
    require(r.number[17] == id_number_check_char(std::string_view(r.number).substr(0, 17)));
    const IdNumberResult again = check_id_number(r.number, at);
    require(again.check.valid && again.number == r.number);
  }
  // JSON output is slow under the sanitizers and simple: exercise it on one input in eight.
  if (size % 8 == 0) {
    const auto j = to_json(r);
    require(j.at("valid").get<bool>() == r.check.valid);
    (void)j.dump();
  }
  return 0;
}
