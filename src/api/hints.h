// src/api/hints.h — customer hints in the client's language (issue 13).  One catalogue per
// language, a JSON object of message keys to text (web/i18n/<lang>.json, shared with the console):
// the hint keys of src/core/reasons.def ("hint.move_closer", ...) are looked up here; English
// falls back to reasons.def's own text.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/reason.h"
#include "core/result.h"

namespace simkyc {

class HintCatalogue {
 public:
  // Reads every <dir>/<lang>.json (at most 1 MiB each; lang like "zh-CN", "en").  A missing
  // directory leaves only English.  Errors: kConfigError for a file that is not a JSON object of strings.
  static Result<HintCatalogue> load(const std::string& dir);

  // The language to answer in for an Accept-Language header: the first listed (by q) that has a
  // catalogue, matching "zh", "zh-Hans", "zh-CN" to "zh-CN"; "en" when none matches.
  std::string pick(std::string_view accept_language) const;
  // Ensures: the hint of r in lang; reasons.def's English text when lang or the key has none.
  std::string_view hint(Reason r, std::string_view lang) const;
  // Rewrites every {"code": C, "hint": H} object in j (any depth) to lang's hint for C.
  void localize(nlohmann::json& j, std::string_view lang) const;

 private:
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> langs_;
};

}  // namespace simkyc
