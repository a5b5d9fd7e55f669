// `simkyc document check` — resident ID numbers and machine readable zones.
// Thin: parses the command line, calls src/document, formats the result.  Logs carry reason codes
// only, never the ID number, the MRZ or any other personal data.
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <opencv2/imgcodecs.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "core/file.h"
#include "document/id_number.h"
#include "document/mrz.h"
#include "document/portrait.h"
#include "image/image.h"

namespace simkyc::cli {
namespace {

namespace doc = simkyc::document;

// An MRZ file holds at most a few hundred bytes; anything much larger is not an MRZ.
constexpr std::uintmax_t kMaxMrzFileBytes = 64 * 1024;

struct CheckOptions {
  std::string id_number;
  std::string mrz;
  std::string mrz_file;
  std::string at;
  int guardian_age = doc::kDefaultGuardianAge;
  bool json = false;
};

doc::Date today_local() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return doc::Date{std::chrono::year{tm.tm_year + 1900},
                   std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                   std::chrono::day{static_cast<unsigned>(tm.tm_mday)}};
}

// "\n" written as the two characters backslash and n (as a shell user would) becomes a newline.
std::string unescape_newlines(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view status_word(const doc::DocumentCheck& c) {
  if (c.ok()) return "VALID";
  if (c.valid && c.expired) return "EXPIRED";
  return "INVALID";
}

std::string reason_codes(const doc::DocumentCheck& c) {
  std::string s;
  for (Reason r : c.reasons) {
    if (!s.empty()) s += ',';
    s += code(r);
  }
  return s.empty() ? "none" : s;
}

void print_common(std::ostream& out, const doc::DocumentCheck& c, doc::Date at) {
  if (c.birth_date) {
    out << "  birth date:    " << doc::format_iso_date(*c.birth_date) << " (age " << *c.age
        << " at " << doc::format_iso_date(at) << (c.minor ? ", minor" : ", adult") << ")\n";
  } else {
    out << "  birth date:    unknown\n";
  }
  out << "  sex:           " << doc::to_string(c.sex) << "\n";
  if (c.expiry_date)
    out << "  expiry date:   " << doc::format_iso_date(*c.expiry_date)
        << (c.expired ? " (expired)" : "") << "\n";
  if (!c.reasons.empty()) {
    out << "  reasons:\n";
    for (Reason r : c.reasons) {
      const auto& ri = info(r);
      out << "    " << ri.code << ": " << ri.message << "\n      hint: " << ri.hint << "\n";
    }
  }
}

void print_id(std::ostream& out, const doc::IdNumberResult& r, doc::Date at) {
  out << "ID number: " << status_word(r.check) << "\n";
  out << "  kind:          " << doc::to_string(r.check.kind) << "\n";
  if (!r.number.empty()) {
    out << "  number:        " << r.number
        << (r.converted_from_15 ? " (converted from 15 digits)" : "") << "\n";
    out << "  region:        " << r.region_code << " "
        << (r.region_name.empty() ? "(unknown)" : r.region_name) << "\n";
  }
  print_common(out, r.check, at);
}

void print_mrz(std::ostream& out, const doc::MrzResult& r, doc::Date at) {
  out << "MRZ: " << status_word(r.check) << "\n";
  if (r.format) {
    const auto& f = r.fields;
    out << "  layout:        " << doc::to_string(*r.format) << " (" << doc::to_string(r.check.kind)
        << ", code " << f.document_code << ")\n";
    out << "  document no.:  " << f.document_number << "\n";
    out << "  name:          " << f.primary_identifier
        << (f.secondary_identifier.empty() ? "" : ", ") << f.secondary_identifier << "\n";
    out << "  issuing state: " << f.issuing_state << "   nationality: " << f.nationality << "\n";
    if (!f.personal_number.empty()) out << "  personal no.:  " << f.personal_number << "\n";
    if (!f.optional_data.empty()) out << "  optional data: " << f.optional_data << "\n";
    if (!f.optional_data_2.empty()) out << "  optional 2:    " << f.optional_data_2 << "\n";
  }
  print_common(out, r.check, at);
  if (!r.corrections.empty()) {
    out << "  OCR corrections (each confirmed by its check digit):\n";
    for (const auto& c : r.corrections)
      out << "    line " << c.line << " column " << c.column << ": '" << c.from << "' read as '"
          << c.to << "' (" << c.field << ")\n";
  }
}

int run_check(const CheckOptions& o) {
  const int sources = !o.id_number.empty() + !o.mrz.empty() + !o.mrz_file.empty();
  if (sources != 1) {
    std::cerr << "error: give exactly one of --id-number, --mrz, --mrz-file "
                 "(see simkyc document check --help)\n";
    return 2;
  }
  doc::Date at = today_local();
  if (!o.at.empty()) {
    const auto parsed = doc::parse_iso_date(o.at);
    if (!parsed) {
      std::cerr << "error: --at must be a calendar date YYYY-MM-DD\n";
      return 2;
    }
    at = *parsed;
  }

  nlohmann::json j;
  const doc::DocumentCheck* check = nullptr;
  doc::IdNumberResult id;
  doc::MrzResult mrz;
  if (!o.id_number.empty()) {
    id = doc::check_id_number(o.id_number, at);
    check = &id.check;
    if (o.json) j = doc::to_json(id);
    else print_id(std::cout, id, at);
  } else {
    std::string text;
    if (!o.mrz_file.empty()) {
      auto read = read_text_file(o.mrz_file, kMaxMrzFileBytes);
      if (!read) {
        if (read.error().reason == Reason::kImageTooLarge)
          std::cerr << "error: the MRZ file is larger than " << kMaxMrzFileBytes / 1024
                    << " KiB; it cannot be an MRZ\n";
        else
          std::cerr << "error: cannot read the MRZ file: " << read.error().describe() << "\n";
        return 2;
      }
      text = std::move(*read);
    } else {
      text = unescape_newlines(o.mrz);
    }
    mrz = doc::check_mrz(text, at);
    check = &mrz.check;
    if (o.json) j = doc::to_json(mrz);
    else print_mrz(std::cout, mrz, at);
  }
  // The service's rule, from the same function (issue 14).
  const bool guardian = doc::needs_guardian(check->age, o.guardian_age);
  if (!o.json && check->age) std::cout << "  guardian:      " << (guardian ? "needed" : "not needed") << " (under "
                                       << o.guardian_age << ")\n";
  if (o.json) {
    j["needs_guardian"] = guardian;
    j["guardian_age"] = o.guardian_age;
    j["at"] = doc::format_iso_date(at);
    std::cout << j.dump(2) << "\n";
  }
  spdlog::info("document check: kind={} ok={} reasons={}", doc::to_string(check->kind),
               check->ok(), reason_codes(*check));
  return check->ok() ? 0 : 1;
}

struct PortraitOptions {
  std::string image, out;
  bool json = false;
};

int run_portrait(const Context& ctx, const PortraitOptions& o) {
  auto img = load_image(o.image);
  if (!img) return report_error(img.error(), o.json);
  auto analyzer = FaceAnalyzer::load(ctx.model_dir, AnalyzerConfig{});
  if (!analyzer) return report_error(analyzer.error(), o.json);
  auto p = doc::extract_portrait(img->bgr, *analyzer);
  if (!p) {
    if (p.error().reason == Reason::kModelError) return report_error(p.error(), o.json);
    if (o.json) print_json({{"ok", false}, {"reasons", reasons_json({p.error().reason})}, {"detail", p.error().detail}});
    else std::cout << "no usable portrait: " << p.error().describe() << "\n  " << info(p.error().reason).hint << "\n";
    return 1;
  }
  if (!o.out.empty() && !cv::imwrite(o.out, p->crop))
    return report_error(make_error(Reason::kIoError, "cannot write " + o.out), o.json);
  if (o.json) {
    auto j = analysis_json(p->face);
    j["ok"] = true;
    j["image"] = {{"width", img->bgr.cols}, {"height", img->bgr.rows}, {"format", to_string(img->format)}};
    j["crop"] = {{"width", p->crop.cols}, {"height", p->crop.rows}};
    print_json(j);
  } else {
    std::cout << "one face, crop " << p->crop.cols << "x" << p->crop.rows << ", inter-eye "
              << static_cast<int>(p->face.quality.inter_eye_px) << " px"
              << (p->face.quality.ok() ? "" : " (quality notes below)") << "\n";
    for (Reason r : p->face.quality.reasons) std::cout << "  - " << code(r) << ": " << info(r).hint << "\n";
  }
  return 0;
}

}  // namespace

void add_document_commands(CLI::App& app, Context& ctx) {
  auto* document = app.add_subcommand(
      "document", "Document checks: resident ID numbers (GB 11643) and MRZs (ICAO 9303)");
  document->require_subcommand(1);

  auto opts = std::make_shared<CheckOptions>();
  auto* check = document->add_subcommand(
      "check",
      "Check a Chinese resident ID number or a machine readable zone (TD1, TD2, TD3, visas).\n"
      "Prints the result (fields, birth date, age, minor, sex, expiry, reasons) for the user who "
      "asked; logs hold reason codes only.");
  auto* id = check->add_option("--id-number", opts->id_number,
                               "18-character resident ID number (a final x is read as X) or a "
                               "legacy 15-digit number");
  auto* mrz = check->add_option("--mrz", opts->mrz,
                                "MRZ text; lines separated by newlines or the two characters \\n");
  auto* mrz_file =
      check->add_option("--mrz-file", opts->mrz_file, "File holding the MRZ lines (max 64 KiB)");
  id->excludes(mrz)->excludes(mrz_file);
  mrz->excludes(mrz_file);
  check->add_option("--at", opts->at,
                    "Date the check is for, YYYY-MM-DD (age, expiry, 2-digit years); "
                    "default today (local time)");
  check->add_option("--guardian-age", opts->guardian_age,
                    "Customers younger than this need a guardian (needs_guardian; the service's guardian_age)")
      ->capture_default_str()
      ->check(CLI::Range(0, 150));
  check->add_flag("--json", opts->json, "Print the result as JSON");
  check->footer(
      "Exit codes: 0 valid (and not expired), 1 invalid or expired, 2 usage or input error.\n"
      "Two-digit MRZ years: birth dates are the latest such date not after --at; expiry dates "
      "fall in [year-50, year+49] around --at.\n"
      "Examples:\n"
      "  simkyc document check --id-number 11010519491231002X --at 2024-05-01\n"
      "  simkyc document check --mrz-file mrz.txt --json\n"
      "  simkyc document check --mrz 'P<UTO...\\nL898902C36...'");
  check->callback([opts, &ctx] { ctx.exit_code = run_check(*opts); });

  auto popts = std::make_shared<PortraitOptions>();
  auto* portrait = document->add_subcommand(
      "portrait",
      "Find the one usable face on a document portrait (chip photo ~102x126, or a card scan).\n"
      "Exit codes: 0 one usable face, 1 no face / several faces / too small, 2 input error.");
  portrait->add_option("image", popts->image, "Portrait image (BMP, JPEG, JPEG 2000, PNG, ...)")->required();
  portrait->add_option("--out", popts->out, "Write the face crop here (.png, .jpg)");
  portrait->add_flag("--json", popts->json, "Print JSON");
  portrait->callback([popts, &ctx] { ctx.exit_code = run_portrait(ctx, *popts); });
}

}  // namespace simkyc::cli
