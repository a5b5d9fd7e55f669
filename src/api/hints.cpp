#include "api/hints.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file.h"

namespace simkyc {

Result<HintCatalogue> HintCatalogue::load(const std::string& dir) {
  HintCatalogue c;
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return c;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".json") continue;
    auto text = read_text_file(e.path().string(), 1u << 20);
    if (!text) return text.error();
    const auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object()) return make_error(Reason::kConfigError, e.path().string() + ": not a JSON object");
    auto& m = c.langs_[e.path().stem().string()];
    for (const auto& [k, v] : j.items())
      if (v.is_string()) m[k] = v.get<std::string>();
  }
  return c;
}

std::string HintCatalogue::pick(std::string_view header) const {
  // "zh-CN,zh;q=0.9,en;q=0.8": entries with their weights, best first (stable for equal q).
  struct Entry { std::string tag; double q; };
  std::vector<Entry> entries;
  std::size_t pos = 0;
  while (pos < header.size() && entries.size() < 16) {
    auto end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view part = header.substr(pos, end - pos);
    pos = end + 1;
    double q = 1;
    if (const auto semi = part.find(';'); semi != std::string_view::npos) {
      const auto qs = part.substr(semi + 1);
      if (const auto eq = qs.find("q="); eq != std::string_view::npos) {
        try { q = std::stod(std::string(qs.substr(eq + 2, 5))); } catch (...) { q = 0; }
      }
      part = part.substr(0, semi);
    }
    std::string tag;
    for (char ch : part)
      if (!std::isspace(static_cast<unsigned char>(ch))) tag += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!tag.empty() && q > 0) entries.push_back({tag, q});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.q > b.q; });
  for (const auto& e : entries) {
    const std::string primary = e.tag.substr(0, e.tag.find('-'));
    if (primary == "en") return "en";
    for (const auto& [lang, m] : langs_) {
      std::string l = lang;
      std::transform(l.begin(), l.end(), l.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (l == e.tag || l.substr(0, l.find('-')) == primary) return lang;
    }
  }
  return "en";
}

std::string_view HintCatalogue::hint(Reason r, std::string_view lang) const {
  const auto& ri = info(r);
  if (lang == "en") return ri.hint;   // reasons.def's text is the English catalogue's most specific form
  if (const auto l = langs_.find(lang); l != langs_.end())
    if (const auto h = l->second.find(ri.hint_key); h != l->second.end()) return h->second;
  return ri.hint;
}

void HintCatalogue::localize(nlohmann::json& j, std::string_view lang) const {
  if (j.is_array()) {
    for (auto& x : j) localize(x, lang);
  } else if (j.is_object()) {
    if (j.contains("hint") && j.contains("code") && j["code"].is_string())
      if (auto r = reason_from_code(j["code"].get<std::string>())) j["hint"] = std::string(hint(*r, lang));
    for (auto& [k, v] : j.items())
      if (v.is_structured()) localize(v, lang);
  }
}

}  // namespace simkyc
