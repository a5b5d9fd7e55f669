#include "document/id_number.h"

#include <array>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "document/regions.h"

namespace simkyc::document {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

// ---- shared helpers -------------------------------------------------------------------------

std::string_view to_string(DocumentKind kind) {
  switch (kind) {
    case DocumentKind::kCnResidentId: return "CN_RESIDENT_ID";
    case DocumentKind::kPassport: return "PASSPORT";
    case DocumentKind::kIdCard: return "ID_CARD";
    case DocumentKind::kVisa: return "VISA";
    case DocumentKind::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view to_string(Sex sex) {
  switch (sex) {
    case Sex::kFemale: return "female";
    case Sex::kMale: return "male";
    case Sex::kUnspecified: return "unspecified";
  }
  return "unspecified";
}

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Requires: s holds only ASCII digits and s.size() <= 9.
int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<Date> parse_iso_date(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
    if (!is_digit(t[i])) return std::nullopt;
  const int y = to_int(t.substr(0, 4));
  const Date d{year{y}, month{static_cast<unsigned>(to_int(t.substr(5, 2)))},
               day{static_cast<unsigned>(to_int(t.substr(8, 2)))}};
  if (y < 1 || !d.ok()) return std::nullopt;
  return d;
}

std::string format_iso_date(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

int age_at(Date birth, Date at) {
  int years = static_cast<int>(at.year()) - static_cast<int>(birth.year());
  // Birthday not reached yet this year.  Comparing (month, day) pairs makes a 29 February
  // birthday count as reached on 1 March in common years.
  if (at.month() < birth.month() || (at.month() == birth.month() && at.day() < birth.day()))
    --years;
  return years < 0 ? 0 : years;
}

bool needs_guardian(const std::optional<int>& age, int guardian_age) { return age && *age < guardian_age; }

nlohmann::json to_json(const DocumentCheck& c) {
  nlohmann::json j;
  j["kind"] = std::string(to_string(c.kind));
  j["valid"] = c.valid;
  j["expired"] = c.expired;
  j["ok"] = c.ok();
  auto date = [](const std::optional<Date>& d) {
    return d ? nlohmann::json(format_iso_date(*d)) : nlohmann::json();
  };
  j["birth_date"] = date(c.birth_date);
  j["expiry_date"] = date(c.expiry_date);
  j["age"] = c.age ? nlohmann::json(*c.age) : nlohmann::json();
  j["minor"] = c.minor;
  j["sex"] = std::string(to_string(c.sex));
  nlohmann::json reasons = nlohmann::json::array();
  for (Reason r : c.reasons) {
    const auto& ri = info(r);
    reasons.push_back({{"code", std::string(ri.code)},
                       {"message", std::string(ri.message)},
                       {"hint_key", std::string(ri.hint_key)},
                       {"hint", std::string(ri.hint)}});
  }
  j["reasons"] = std::move(reasons);
  return j;
}

// ---- resident ID numbers --------------------------------------------------------------------

char id_number_check_char(std::string_view first17) {
  if (first17.size() != 17) return '?';
  // ISO 7064 MOD 11-2: weight of position i (1-based from the left, 18 positions) is
  // 2^(18-i) mod 11; the check character makes the weighted sum == 1 (mod 11).
  static constexpr std::array<int, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6,
                                                   3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr std::string_view kCheck = "10X98765432";
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    if (!is_digit(first17[i])) return '?';
    sum += (first17[i] - '0') * kWeights[i];
  }
  return kCheck[static_cast<std::size_t>(sum % 11)];
}

std::optional<std::string> convert_15_to_18(std::string_view n) {
  if (n.size() != 15) return std::nullopt;
  for (char c : n)
    if (!is_digit(c)) return std::nullopt;
  std::string s;
  s.reserve(18);
  s.append(n.substr(0, 6));
  s.append("19");
  s.append(n.substr(6));
  s.push_back(id_number_check_char(s));
  return s;
}

IdNumberResult check_id_number(std::string_view input, Date at) {
  IdNumberResult r;
  r.check.kind = DocumentKind::kCnResidentId;
  auto fail = [&r](Reason reason) { r.check.reasons.push_back(reason); };

  const std::string_view in = trim_spaces(input);
  // Format: 18 = 17 digits + digit/X/x; 15 = 15 digits.  Nothing else is looked at otherwise.
  bool format_ok = false;
  if (in.size() == 18) {
    format_ok = true;
    for (std::size_t i = 0; i < 17; ++i) format_ok = format_ok && is_digit(in[i]);
    const char last = in[17];
    format_ok = format_ok && (is_digit(last) || last == 'X' || last == 'x');
  } else if (in.size() == 15) {
    format_ok = true;
    for (char c : in) format_ok = format_ok && is_digit(c);
  }
  if (!format_ok) {
    fail(Reason::kIdNumberFormat);
    return r;
  }

  if (in.size() == 15) {
    r.number = *convert_15_to_18(in);
    r.converted_from_15 = true;
  } else {
    r.number = std::string(in);
    if (r.number[17] == 'x') r.number[17] = 'X';
    if (id_number_check_char(std::string_view(r.number).substr(0, 17)) != r.number[17])
      fail(Reason::kIdNumberChecksum);
  }

  r.region_code = r.number.substr(0, 2);
  if (const Region* region = find_province(r.region_code)) r.region_name = region->name_en;
  else fail(Reason::kIdNumberRegion);

  const std::string_view digits(r.number);
  const Date birth{year{to_int(digits.substr(6, 4))},
                   month{static_cast<unsigned>(to_int(digits.substr(10, 2)))},
                   day{static_cast<unsigned>(to_int(digits.substr(12, 2)))}};
  if (!birth.ok() || static_cast<int>(birth.year()) < kEarliestBirthYear) {
    fail(Reason::kIdNumberBirthDate);
  } else if (birth > at) {
    fail(Reason::kIdNumberBirthDateFuture);
  } else {
    r.check.birth_date = birth;
    r.check.age = age_at(birth, at);
    r.check.minor = *r.check.age < 18;
  }

  r.check.sex = ((digits[16] - '0') % 2 == 1) ? Sex::kMale : Sex::kFemale;
  r.check.valid = r.check.reasons.empty();
  return r;
}

nlohmann::json to_json(const IdNumberResult& r) {
  nlohmann::json j = to_json(r.check);
  j["id_number"] = {{"number", r.number},
                    {"converted_from_15", r.converted_from_15},
                    {"region_code", r.region_code},
                    {"region", std::string(r.region_name)}};
  return j;
}

}  // namespace simkyc::document
