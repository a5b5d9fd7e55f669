#include "document/mrz.h"

#include <algorithm>
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace simkyc::document {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

std::string_view to_string(MrzFormat f) {
  switch (f) {
    case MrzFormat::kTd1: return "TD1";
    case MrzFormat::kTd2: return "TD2";
    case MrzFormat::kTd3: return "TD3";
    case MrzFormat::kMrvA: return "MRV-A";
    case MrzFormat::kMrvB: return "MRV-B";
  }
  return "UNKNOWN";
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_mrz_char(char c) { return is_digit(c) || is_upper(c) || c == '<'; }
bool all_fillers(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '<'; });
}

// The usual OCR confusions of a letter for a digit; 0 when `c` is not one of them.
char confusable_digit(char c) {
  switch (c) {
    case 'O': return '0';
    case 'I': return '1';
    case 'B': return '8';
    case 'S': return '5';
    case 'Z': return '2';
    case 'G': return '6';
    default: return 0;
  }
}

std::string strip_trailing_fillers(std::string_view s) {
  while (!s.empty() && s.back() == '<') s.remove_suffix(1);
  return std::string(s);
}

// "ANNA<MARIA<<<" -> "ANNA MARIA": fillers separate components; runs collapse to one space.
std::string name_component(std::string_view s) {
  std::string out;
  bool pending_space = false;
  for (char c : s) {
    if (c == '<') {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    }
  }
  return out;
}

// Requires: six ASCII digits.
struct Ymd {
  int yy, mm, dd;
};
std::optional<Ymd> split_yymmdd(std::string_view s) {
  if (s.size() != 6 || !std::all_of(s.begin(), s.end(), is_digit)) return std::nullopt;
  auto two = [&](std::size_t i) { return (s[i] - '0') * 10 + (s[i + 1] - '0'); };
  return Ymd{two(0), two(2), two(4)};
}

Date make_date(int y, int m, int d) {
  return Date{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
}

int century_base(Date at) {
  const int y = static_cast<int>(at.year());
  // Floor division, so that years before 0001 (never produced by parse_iso_date) stay sane.
  return (y >= 0 ? y / 100 : (y - 99) / 100) * 100;
}

// Where one field (and its check digit) sits in the MRZ lines.
struct Span {
  int line;  // 0-based
  int pos;   // 0-based
  int len;
};

class Checker {
 public:
  Checker(MrzResult& r, std::vector<std::string>& lines) : r_(r), lines_(lines) {}

  void fail(Reason reason) {
    auto& v = r_.check.reasons;
    if (std::find(v.begin(), v.end(), reason) == v.end()) v.push_back(reason);
  }

  std::string text(Span s) const {
    return lines_[static_cast<std::size_t>(s.line)].substr(static_cast<std::size_t>(s.pos),
                                                           static_cast<std::size_t>(s.len));
  }
  char at(int line, int pos) const {
    return lines_[static_cast<std::size_t>(line)][static_cast<std::size_t>(pos)];
  }

  // Verifies the check digit at `check` over `fields` (concatenated).  The positions in
  // `numeric` (field spans that must be digits) and the check digit itself may hold an OCR
  // confusion; those are replaced only when the check digit then matches, and recorded.
  // `filler_ok`: a '<' check digit is accepted when every field character is '<'.
  // Ensures: true iff the check digit matches (after any kept correction).
  bool verify(const std::vector<Span>& fields, const std::vector<Span>& numeric, Span check,
              std::string_view field_name, std::string_view check_name, bool filler_ok = false) {
    // Candidate: every confusable letter in a numeric position becomes its digit.  Letters are
    // never right in a numeric position, so a confirmed candidate wins over the text as given.
    std::vector<std::pair<Span, char>> changes;  // (position as a 1-length span, original char)
    std::vector<std::string_view> names;
    auto propose = [&](Span s, std::string_view name) {
      for (int i = 0; i < s.len; ++i) {
        char& c = lines_[static_cast<std::size_t>(s.line)][static_cast<std::size_t>(s.pos + i)];
        if (const char d = confusable_digit(c)) {
          changes.push_back({Span{s.line, s.pos + i, 1}, c});
          names.push_back(name);
          c = d;
        }
      }
    };
    for (const Span& s : numeric) propose(s, field_name);
    propose(check, check_name);
    if (changes.empty()) return matches(fields, check, filler_ok);
    if (matches(fields, check, filler_ok)) {
      for (std::size_t i = 0; i < changes.size(); ++i) {
        const Span& p = changes[i].first;
        r_.corrections.push_back(MrzCorrection{p.line + 1, p.pos + 1, changes[i].second,
                                               at(p.line, p.pos), names[i]});
      }
      return true;
    }
    for (const auto& [p, original] : changes)  // not confirmed: judge the text as given
      lines_[static_cast<std::size_t>(p.line)][static_cast<std::size_t>(p.pos)] = original;
    return matches(fields, check, filler_ok);
  }

 private:
  bool matches(const std::vector<Span>& fields, Span check, bool filler_ok) const {
    std::string data;
    for (const Span& s : fields) data += text(s);
    const char c = at(check.line, check.pos);
    if (c == '<') return filler_ok && all_fillers(data);
    const int digit = mrz_check_digit(data);
    return digit >= 0 && is_digit(c) && c - '0' == digit;
  }

  MrzResult& r_;
  std::vector<std::string>& lines_;
};

// Splits, trims and unifies the raw text into MRZ lines.  Returns false with a reason set when
// the text cannot be an MRZ.
bool normalise(std::string_view text, std::vector<std::string>& lines, Reason& why) {
  if (text.size() > kMaxMrzInput) {
    why = Reason::kMrzTooLong;
    return false;
  }
  std::string current;
  auto flush = [&] {
    std::string_view s(current);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (!s.empty()) lines.emplace_back(s);
    current.clear();
  };
  for (char c : text) {
    if (c == '\n' || c == '\r') flush();
    else current.push_back(c);
  }
  flush();
  for (const auto& l : lines)
    if (!std::all_of(l.begin(), l.end(), is_mrz_char)) {
      why = Reason::kMrzCharacter;
      return false;
    }
  if (lines.size() == 1) {  // a reader that joined the lines
    const std::size_t n = lines[0].size();
    const std::size_t width = n == 90 ? 30 : n == 72 ? 36 : n == 88 ? 44 : 0;
    if (width != 0) {
      std::vector<std::string> split;
      for (std::size_t i = 0; i < n; i += width) split.push_back(lines[0].substr(i, width));
      lines = std::move(split);
    }
  }
  const bool td1 = lines.size() == 3 && std::all_of(lines.begin(), lines.end(), [](const auto& l) {
                     return l.size() == 30;
                   });
  const bool two = lines.size() == 2 && lines[0].size() == lines[1].size() &&
                   (lines[0].size() == 36 || lines[0].size() == 44);
  if (!td1 && !two) {
    why = Reason::kMrzFormat;
    return false;
  }
  return true;
}

bool letters_or_fillers(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_upper(c) || c == '<'; });
}

}  // namespace

int mrz_check_digit(std::string_view field) {
  static constexpr std::array<int, 3> kWeights = {7, 3, 1};
  int sum = 0;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    int v;
    if (is_digit(c)) v = c - '0';
    else if (is_upper(c)) v = c - 'A' + 10;
    else if (c == '<') v = 0;
    else return -1;
    sum = (sum + v * kWeights[i % 3]) % 10;
  }
  return sum;
}

std::optional<Date> mrz_birth_date(std::string_view yymmdd, Date at) {
  const auto ymd = split_yymmdd(yymmdd);
  if (!ymd) return std::nullopt;
  int y = century_base(at) + ymd->yy;
  // Compare field-wise (works for not-yet-valid dates such as 31 February).
  if (make_date(y, ymd->mm, ymd->dd) > at) y -= 100;
  const Date d = make_date(y, ymd->mm, ymd->dd);
  if (!d.ok()) return std::nullopt;
  return d;
}

std::optional<Date> mrz_expiry_date(std::string_view yymmdd, Date at) {
  const auto ymd = split_yymmdd(yymmdd);
  if (!ymd) return std::nullopt;
  const int at_year = static_cast<int>(at.year());
  int y = century_base(at) + ymd->yy;
  if (y > at_year + 49) y -= 100;
  if (y < at_year - 50) y += 100;
  const Date d = make_date(y, ymd->mm, ymd->dd);
  if (!d.ok()) return std::nullopt;
  return d;
}

MrzResult check_mrz(std::string_view text, Date at) {
  MrzResult r;
  std::vector<std::string> lines;
  Reason why = Reason::kOk;
  if (!normalise(text, lines, why)) {
    r.check.kind = DocumentKind::kUnknown;
    r.check.reasons.push_back(why);
    return r;
  }
  Checker ck(r, lines);
  const std::size_t width = lines[0].size();
  const char code0 = lines[0][0];

  // Layout and document kind from the line shape and the first character of the code.
  bool code_ok = true;
  if (lines.size() == 3) {
    r.format = MrzFormat::kTd1;
    code_ok = code0 == 'A' || code0 == 'C' || code0 == 'I';
  } else if (width == 36) {
    r.format = code0 == 'V' ? MrzFormat::kMrvB : MrzFormat::kTd2;
    code_ok = code0 == 'V' || code0 == 'A' || code0 == 'C' || code0 == 'I';
  } else {
    r.format = code0 == 'V' ? MrzFormat::kMrvA : MrzFormat::kTd3;
    code_ok = code0 == 'V' || code0 == 'P';
  }
  code_ok = code_ok && (is_upper(lines[0][1]) || lines[0][1] == '<');
  if (!code_ok) ck.fail(Reason::kMrzDocumentCode);
  r.check.kind = code0 == 'P'   ? DocumentKind::kPassport
                 : code0 == 'V' ? DocumentKind::kVisa
                 : *r.format == MrzFormat::kTd3 ? DocumentKind::kPassport
                                                : DocumentKind::kIdCard;
  const bool visa = *r.format == MrzFormat::kMrvA || *r.format == MrzFormat::kMrvB;

  // Field positions (0-based) per layout.
  Span doc_number{}, doc_check{}, nationality{}, birth{}, birth_check{}, sex{}, expiry{},
      expiry_check{}, names{};
  std::vector<Span> composite_fields;
  std::optional<Span> composite_check, optional1, optional2, personal, personal_check;
  const Span state{0, 2, 3};
  if (*r.format == MrzFormat::kTd1) {
    doc_number = {0, 5, 9};
    doc_check = {0, 14, 1};
    optional1 = Span{0, 15, 15};
    birth = {1, 0, 6};
    birth_check = {1, 6, 1};
    sex = {1, 7, 1};
    expiry = {1, 8, 6};
    expiry_check = {1, 14, 1};
    nationality = {1, 15, 3};
    optional2 = Span{1, 18, 11};
    composite_fields = {{0, 5, 25}, {1, 0, 7}, {1, 8, 7}, {1, 18, 11}};
    composite_check = Span{1, 29, 1};
    names = {2, 0, 30};
  } else {
    const int w = static_cast<int>(width);
    names = {0, 5, w - 5};
    doc_number = {1, 0, 9};
    doc_check = {1, 9, 1};
    nationality = {1, 10, 3};
    birth = {1, 13, 6};
    birth_check = {1, 19, 1};
    sex = {1, 20, 1};
    expiry = {1, 21, 6};
    expiry_check = {1, 27, 1};
    if (*r.format == MrzFormat::kTd3) {
      personal = Span{1, 28, 14};
      personal_check = Span{1, 42, 1};
      composite_fields = {{1, 0, 10}, {1, 13, 7}, {1, 21, 22}};
      composite_check = Span{1, 43, 1};
    } else if (*r.format == MrzFormat::kTd2) {
      optional1 = Span{1, 28, 7};
      composite_fields = {{1, 0, 10}, {1, 13, 7}, {1, 21, 14}};
      composite_check = Span{1, 35, 1};
    } else {  // MRV-A / MRV-B: optional data to the end of the line, no further check digits
      optional1 = Span{1, 28, w - 28};
    }
  }

  // Letters-only fields.
  if (!letters_or_fillers(ck.text(state)) || !letters_or_fillers(ck.text(nationality)) ||
      !letters_or_fillers(ck.text(names)))
    ck.fail(Reason::kMrzField);

  // Document number; TD1 and TD2 numbers longer than 9 characters continue in the optional data
  // (check digit position filled with '<'; the rest of the number, its check digit, then '<').
  std::string number = ck.text(doc_number);
  const bool long_number =
      !visa && optional1 && ck.at(doc_check.line, doc_check.pos) == '<' && !all_fillers(number);
  if (long_number) {
    const std::string opt = ck.text(*optional1);
    const std::size_t end = std::min(opt.find('<'), opt.size());
    if (end == 0) {
      ck.fail(Reason::kMrzCheckDigitDocumentNumber);
      r.fields.optional_data = strip_trailing_fillers(opt);
    } else {
      const Span rest{optional1->line, optional1->pos, static_cast<int>(end) - 1};
      const Span check{optional1->line, optional1->pos + static_cast<int>(end) - 1, 1};
      if (!ck.verify({doc_number, rest}, {}, check, "document_number",
                     "document_number_check_digit"))
        ck.fail(Reason::kMrzCheckDigitDocumentNumber);
      number += ck.text(rest);
      r.fields.optional_data =
          end < opt.size() ? strip_trailing_fillers(std::string_view(opt).substr(end + 1)) : "";
    }
  } else {
    if (!ck.verify({doc_number}, {}, doc_check, "document_number", "document_number_check_digit"))
      ck.fail(Reason::kMrzCheckDigitDocumentNumber);
    if (optional1) r.fields.optional_data = strip_trailing_fillers(ck.text(*optional1));
  }
  r.fields.document_number = strip_trailing_fillers(number);

  // Dates.
  const bool birth_ok = ck.verify({birth}, {birth}, birth_check, "birth_date",
                                  "birth_date_check_digit");
  if (!birth_ok) ck.fail(Reason::kMrzCheckDigitBirthDate);
  const std::string birth_text = ck.text(birth);
  if (!all_fillers(birth_text)) {
    if (auto d = mrz_birth_date(birth_text, at)) {
      r.check.birth_date = *d;
      r.check.age = age_at(*d, at);
      r.check.minor = *r.check.age < 18;
    } else {
      ck.fail(Reason::kMrzBirthDate);
    }
  }
  if (!ck.verify({expiry}, {expiry}, expiry_check, "expiry_date", "expiry_date_check_digit"))
    ck.fail(Reason::kMrzCheckDigitExpiryDate);
  const std::string expiry_text = ck.text(expiry);
  if (!all_fillers(expiry_text)) {
    if (auto d = mrz_expiry_date(expiry_text, at)) {
      r.check.expiry_date = *d;
      r.check.expired = *d < at;
    } else {
      ck.fail(Reason::kMrzExpiryDate);
    }
  }

  // Sex.
  const char s = ck.at(sex.line, sex.pos);
  r.fields.sex = s;
  if (s == 'F') r.check.sex = Sex::kFemale;
  else if (s == 'M') r.check.sex = Sex::kMale;
  else if (s != '<' && s != 'X') ck.fail(Reason::kMrzSex);

  // TD3 personal number: its check digit may be '<' when the number is all fillers.
  if (personal) {
    if (!ck.verify({*personal}, {}, *personal_check, "personal_number",
                   "personal_number_check_digit", /*filler_ok=*/true))
      ck.fail(Reason::kMrzCheckDigitOptionalData);
    r.fields.personal_number = strip_trailing_fillers(ck.text(*personal));
  }
  if (optional2) r.fields.optional_data_2 = strip_trailing_fillers(ck.text(*optional2));

  // Composite, over the text after the corrections kept above.
  if (composite_check &&
      !ck.verify(composite_fields, {}, *composite_check, "composite", "composite_check_digit"))
    ck.fail(Reason::kMrzCheckDigitComposite);

  // Remaining fields as printed.
  const std::string code = ck.text(Span{0, 0, 2});
  r.fields.document_code = strip_trailing_fillers(code);
  r.fields.issuing_state = strip_trailing_fillers(ck.text(state));
  r.fields.nationality = strip_trailing_fillers(ck.text(nationality));
  const std::string name = ck.text(names);
  const std::size_t split = name.find("<<");
  r.fields.primary_identifier = name_component(std::string_view(name).substr(0, split));
  if (split != std::string::npos)
    r.fields.secondary_identifier = name_component(std::string_view(name).substr(split + 2));
  r.fields.birth_date = birth_text;
  r.fields.expiry_date = expiry_text;

  r.check.valid = r.check.reasons.empty();
  if (r.check.expired) r.check.reasons.push_back(Reason::kDocumentExpired);
  r.lines = std::move(lines);
  return r;
}

nlohmann::json to_json(const MrzResult& r) {
  nlohmann::json j = to_json(r.check);
  nlohmann::json m;
  m["format"] = r.format ? nlohmann::json(std::string(to_string(*r.format))) : nlohmann::json();
  m["lines"] = r.lines;
  const MrzFields& f = r.fields;
  m["document_code"] = f.document_code;
  m["issuing_state"] = f.issuing_state;
  m["primary_identifier"] = f.primary_identifier;
  m["secondary_identifier"] = f.secondary_identifier;
  m["document_number"] = f.document_number;
  m["nationality"] = f.nationality;
  m["birth_date_raw"] = f.birth_date;
  m["sex"] = std::string(1, f.sex);
  m["expiry_date_raw"] = f.expiry_date;
  m["personal_number"] = f.personal_number;
  m["optional_data"] = f.optional_data;
  m["optional_data_2"] = f.optional_data_2;
  j["mrz"] = std::move(m);
  nlohmann::json corrections = nlohmann::json::array();
  for (const auto& c : r.corrections)
    corrections.push_back({{"line", c.line},
                           {"column", c.column},
                           {"from", std::string(1, c.from)},
                           {"to", std::string(1, c.to)},
                           {"field", std::string(c.field)}});
  j["corrections"] = std::move(corrections);
  return j;
}

}  // namespace simkyc::document
