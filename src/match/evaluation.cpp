#include "match/evaluation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace simkyc {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool is_image_file(const fs::path& p) {
  static const char* kExt[] = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp", ".jp2", ".j2k"};
  const auto e = lower(p.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

class ListBuilder {
 public:
  int add(const fs::path& p) {
    const auto key = p.lexically_normal().string();
    auto [it, inserted] = index_.emplace(key, static_cast<int>(list_.images.size()));
    if (inserted) list_.images.push_back(p.lexically_normal());
    return it->second;
  }
  void pair(int a, int b, bool same) { list_.pairs.push_back({a, b, same}); }
  PairList take() { return std::move(list_); }

 private:
  std::map<std::string, int> index_;
  PairList list_;
};

// Fraction of `sorted_desc` scores that are >= t.
double rate_at_or_above(const std::vector<float>& sorted_asc, float t) {
  const auto it = std::lower_bound(sorted_asc.begin(), sorted_asc.end(), t);
  return sorted_asc.empty() ? 0.0 : static_cast<double>(sorted_asc.end() - it) / sorted_asc.size();
}

// The lowest threshold t (among scores + a step above the maximum) with impostor rate <= far.
float threshold_for_far(const std::vector<float>& imp_asc, double far) {
  if (imp_asc.empty()) return -1.f;
  const auto n = static_cast<long long>(imp_asc.size());
  const auto allowed = static_cast<long long>(std::floor(far * static_cast<double>(n) + 1e-9));
  if (allowed <= 0) return std::nextafter(imp_asc.back(), std::numeric_limits<float>::infinity());
  // Threshold just above the (allowed+1)-th highest impostor score.
  const float t = imp_asc[static_cast<std::size_t>(n - allowed - 1)];
  return std::nextafter(t, std::numeric_limits<float>::infinity());
}

}  // namespace

Result<PairList> read_pair_list(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return make_error(Reason::kIoError, "cannot read pair list " + file.string());
  const fs::path base = file.parent_path();
  auto resolve = [&](const std::string& s) -> fs::path {
    fs::path p(s);
    if (p.is_absolute()) return p;
    if (fs::exists(base / p)) return base / p;
    return base / p.filename();
  };
  ListBuilder b;
  std::string line;
  int lineno = 0;
  bool csv = false;
  while (std::getline(in, line)) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (lineno == 1 && lower(line).rfind("file_x,file_y,", 0) == 0) {
      csv = true;
      continue;
    }
    std::vector<std::string> f;
    if (csv) {
      std::stringstream ss(line);
      std::string cell;
      while (std::getline(ss, cell, ',')) f.push_back(trim(cell));
    } else {
      std::stringstream ss(line);
      std::string w;
      while (ss >> w) f.push_back(w);
    }
    if (f.size() < 3 || (!csv && f.size() != 3))
      return make_error(Reason::kUsage, file.string() + ":" + std::to_string(lineno) + ": expected 3 fields");
    const auto label = lower(f[2]);
    bool same;
    if (label == "1" || label == "yes" || label == "same" || label == "true") same = true;
    else if (label == "0" || label == "no" || label == "different" || label == "false") same = false;
    else return make_error(Reason::kUsage, file.string() + ":" + std::to_string(lineno) + ": unknown label '" + f[2] + "'");
    const fs::path pa = resolve(f[0]), pb = resolve(f[1]);
    for (const auto& p : {pa, pb})
      if (!fs::exists(p)) return make_error(Reason::kUsage, file.string() + ":" + std::to_string(lineno) + ": no such image " + p.string());
    b.pair(b.add(pa), b.add(pb), same);
  }
  auto list = b.take();
  if (list.pairs.empty()) return make_error(Reason::kUsage, "no pairs in " + file.string());
  return list;
}

Result<PairList> pairs_from_folders(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(Reason::kIoError, "not a folder: " + dir.string());
  std::vector<fs::path> people;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) people.push_back(e.path());
  std::sort(people.begin(), people.end());
  ListBuilder b;
  std::vector<std::vector<int>> ids;
  for (const auto& person : people) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(person, ec))
      if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) continue;
    std::vector<int> idx;
    for (const auto& f : files) idx.push_back(b.add(f));
    ids.push_back(std::move(idx));
  }
  if (ids.size() < 2) return make_error(Reason::kUsage, "need at least two person folders in " + dir.string());
  for (std::size_t p = 0; p < ids.size(); ++p) {
    for (std::size_t i = 0; i < ids[p].size(); ++i)
      for (std::size_t j = i + 1; j < ids[p].size(); ++j) b.pair(ids[p][i], ids[p][j], true);
    for (std::size_t q = p + 1; q < ids.size(); ++q)
      for (int x : ids[p])
        for (int y : ids[q]) b.pair(x, y, false);
  }
  return b.take();
}

Metrics compute_metrics(std::vector<float> genuine, std::vector<float> impostor, const std::vector<double>& fars) {
  Metrics m;
  m.genuine = static_cast<long long>(genuine.size());
  m.impostor = static_cast<long long>(impostor.size());
  std::sort(genuine.begin(), genuine.end());
  std::sort(impostor.begin(), impostor.end());
  if (genuine.empty() || impostor.empty()) return m;

  // Sweep all distinct thresholds (every score) from high to low.
  std::vector<float> ts;
  ts.reserve(genuine.size() + impostor.size());
  ts.insert(ts.end(), genuine.begin(), genuine.end());
  ts.insert(ts.end(), impostor.begin(), impostor.end());
  std::sort(ts.begin(), ts.end());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  ts.erase(std::remove_if(ts.begin(), ts.end(), [](float t) { return !std::isfinite(t); }), ts.end());

  double prev_far = 0, prev_frr = 1;
  float prev_t = ts.empty() ? 0.f : ts.back();
  bool eer_done = false;
  const double total = static_cast<double>(m.genuine + m.impostor);
  const std::size_t stride = std::max<std::size_t>(1, ts.size() / 400);
  for (std::size_t k = ts.size(); k-- > 0;) {
    const float t = ts[k];
    const double far = rate_at_or_above(impostor, t);
    const double tar = rate_at_or_above(genuine, t);
    const double frr = 1 - tar;
    const double acc = (tar * m.genuine + (1 - far) * m.impostor) / total;
    if (acc > m.best_accuracy) {
      m.best_accuracy = acc;
      m.best_accuracy_threshold = t;
    }
    if (!eer_done && far >= frr) {
      // Interpolate between the previous and this threshold where FAR and FRR cross.
      const double d0 = prev_frr - prev_far, d1 = frr - far;
      const double w = (d0 - d1) != 0 ? d0 / (d0 - d1) : 0.0;
      m.eer = prev_far + w * (far - prev_far);
      m.eer_threshold = static_cast<float>(prev_t + w * (t - prev_t));
      eer_done = true;
    }
    if ((ts.size() - 1 - k) % stride == 0 || k == 0) m.roc.push_back({far, tar, t});
    prev_far = far;
    prev_frr = frr;
    prev_t = t;
  }
  std::reverse(m.roc.begin(), m.roc.end());   // FAR descending
  for (double far : fars) {
    TarAtFar r;
    r.far = far;
    r.impostor_pairs = m.impostor;
    r.supported = static_cast<double>(m.impostor) * far >= 1.0;
    r.threshold = threshold_for_far(impostor, far);
    r.tar = rate_at_or_above(genuine, r.threshold);
    m.tar_at_far.push_back(r);
  }
  return m;
}

CalibrationTable make_calibration(const std::string& model, std::vector<float> genuine, std::vector<float> impostor,
                                  const std::vector<double>& fmrs) {
  const Metrics m = compute_metrics(std::move(genuine), std::move(impostor), fmrs);
  CalibrationTable t;
  t.model = model;
  // Only FMRs the data can support (at least one impostor pair per 1/fmr) go into the table.
  for (const auto& r : m.tar_at_far)
    if (r.supported) t.points.push_back({r.far, r.threshold, r.impostor_pairs, r.tar});
  std::sort(t.points.begin(), t.points.end(), [](auto& a, auto& b) { return a.fmr > b.fmr; });
  return t;
}

}  // namespace simkyc
