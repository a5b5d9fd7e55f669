// Cross-validated score experiments on cached descriptors (see fusion_tool.cpp).
#include "experiments.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "descriptor_cache.h"
#include "face/fusion_model.h"
#include "match/evaluation.h"
#include "match/fusion_fit.h"

namespace simkyc::fusion {

// People -> folds: by number of photos (so the many-photo people spread over the folds), ties
// in a seeded random order.
std::vector<int> assign_folds(const DescriptorSet& s, const std::vector<int>& people, int folds, unsigned seed) {
  std::map<int, int> count;
  for (std::size_t i = 0; i < s.images.size(); ++i) ++count[s.person[i]];
  std::vector<int> order = people;
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return count[a] > count[b]; });
  std::vector<int> fold_of(s.people.size(), -1);
  for (std::size_t r = 0; r < order.size(); ++r) fold_of[static_cast<std::size_t>(order[r])] = static_cast<int>(r) % folds;
  return fold_of;
}

namespace {

// A scoring method: which cached variants, flip averaging, z-score weights, a projection fitted
// on the training identities, adaptive S-norm against the training images.
struct Method {
  std::string name;
  std::vector<std::string> parts;
  bool flip = false;
  bool zweight = false;
  std::optional<ProjectionConfig> proj;
  int asnorm_k = 0;
  std::vector<Method> candidates;   // non-empty: pick one by inner cross-validation on the training people
};

struct Fitted {
  FusionModel model;
  std::vector<Descriptor> cohort;   // AS-norm cohort (final descriptors of the training images)
  int asnorm_k = 0;
};

// Part p of image i as the method feeds it (flip-averaged when asked).
Descriptor part_of(const DescriptorSet& s, int v, std::size_t i, bool flip) {
  const auto& d = s.desc[static_cast<std::size_t>(v)][i];
  return flip ? average_unit(d[0], d[1]) : d[0];
}

Result<std::vector<int>> variant_ids(const DescriptorSet& s, const Method& m) {
  std::vector<int> out;
  for (const auto& p : m.parts) {
    const int v = s.variant_index(p);
    if (v < 0) return make_error(Reason::kUsage, "no variant " + p + " in " + s.data);
    out.push_back(v);
  }
  return out;
}

std::vector<Descriptor> parts_of(const DescriptorSet& s, const std::vector<int>& vids, std::size_t i, bool flip) {
  std::vector<Descriptor> ps;
  for (int v : vids) ps.push_back(part_of(s, v, i, flip));
  return ps;
}

Result<Fitted> fit_method(const DescriptorSet& s, const Method& m, const std::vector<std::size_t>& train) {
  auto vids = variant_ids(s, m);
  if (!vids) return vids.error();
  Fitted f;
  f.asnorm_k = m.asnorm_k;
  f.model.id = m.name;
  std::vector<int> person;
  for (std::size_t i : train) person.push_back(s.person[i]);
  for (std::size_t p = 0; p < vids->size(); ++p) {
    const auto& var = s.variants[static_cast<std::size_t>((*vids)[p])];
    FusionPart fp{var.embedder, var.box_margin, m.flip, 1.f};
    if (m.zweight && vids->size() > 1) {
      std::vector<Descriptor> xs;
      for (std::size_t i : train) xs.push_back(part_of(s, (*vids)[p], i, m.flip));
      fp.weight = static_cast<float>(1.0 / std::sqrt(impostor_score_sd(xs, person)));
    }
    f.model.parts.push_back(fp);
    f.model.part_dims.push_back(var.dims);
  }
  if (m.proj) {
    std::vector<Descriptor> xs;
    for (std::size_t i : train) {
      Descriptor x;
      auto ps = parts_of(s, *vids, i, m.flip);
      for (std::size_t p = 0; p < ps.size(); ++p)
        for (float v : ps[p]) x.push_back(v * f.model.parts[p].weight);
      xs.push_back(std::move(x));
    }
    auto pr = fit_projection(xs, person, *m.proj);
    if (!pr) return pr.error();
    f.model.projection = std::move(pr.value());
  }
  if (m.asnorm_k > 0)
    for (std::size_t i : train) {
      auto y = f.model.combine(parts_of(s, *vids, i, m.flip));
      if (!y) return y.error();
      f.cohort.push_back(std::move(y.value()));
    }
  return f;
}

constexpr float kRejected = -std::numeric_limits<float>::infinity();

float dot(const Descriptor& a, const Descriptor& b) {
  double r = 0;
  for (std::size_t i = 0; i < a.size(); ++i) r += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(r);
}

// Scores of the given pairs of images of `s` (a, b indices) with a fitted method.
Result<std::vector<float>> score_pairs(const DescriptorSet& s, const Method& m, const Fitted& f,
                                       const std::vector<Pair>& pairs) {
  auto vids = variant_ids(s, m);
  if (!vids) return vids.error();
  std::vector<Descriptor> y(s.images.size());
  std::vector<CohortStats> cs(s.images.size());
  std::vector<char> need(s.images.size(), 0);
  for (const auto& p : pairs) need[static_cast<std::size_t>(p.a)] = need[static_cast<std::size_t>(p.b)] = 1;
  for (std::size_t i = 0; i < s.images.size(); ++i) {
    if (!need[i] || !s.ok[i]) continue;
    auto d = f.model.combine(parts_of(s, *vids, i, m.flip));
    if (!d) return d.error();
    y[i] = std::move(d.value());
    if (f.asnorm_k > 0) cs[i] = cohort_stats(y[i], f.cohort, f.asnorm_k);
  }
  std::vector<float> out;
  out.reserve(pairs.size());
  for (const auto& p : pairs) {
    const auto a = static_cast<std::size_t>(p.a), b = static_cast<std::size_t>(p.b);
    if (!s.ok[a] || !s.ok[b]) {
      out.push_back(kRejected);
      continue;
    }
    const float sc = dot(y[a], y[b]);
    out.push_back(f.asnorm_k > 0 ? as_norm(sc, cs[a], cs[b]) : sc);
  }
  return out;
}

struct CvResult {
  std::vector<Metrics> folds;
  Metrics pooled;
  std::vector<float> genuine, impostor;   // pooled out-of-fold scores
  std::vector<std::string> chosen;   // per fold, the candidate picked (nested methods)
};

std::vector<Pair> all_pairs(const std::vector<std::size_t>& imgs, const DescriptorSet& s) {
  std::vector<Pair> ps;
  for (std::size_t x = 0; x < imgs.size(); ++x)
    for (std::size_t y = x + 1; y < imgs.size(); ++y)
      ps.push_back({static_cast<int>(imgs[x]), static_cast<int>(imgs[y]), s.person[imgs[x]] == s.person[imgs[y]]});
  return ps;
}

double tar_at(const Metrics& m, double far) {
  for (const auto& t : m.tar_at_far)
    if (std::abs(t.far - far) < far / 100) return t.supported ? t.tar : std::nan("");
  return std::nan("");
}

Result<CvResult> cross_validate(const DescriptorSet& s, const Method& m, const std::vector<int>& people, int folds,
                                unsigned seed);

// A nested method: the candidate with the best pooled TAR at FAR 1e-3 (EER breaking ties) in a
// cross-validation over the training people only.
Result<const Method*> choose(const DescriptorSet& s, const Method& m, const std::vector<int>& train_people,
                             unsigned seed) {
  const Method* best = nullptr;
  double best_tar = -1, best_eer = 2;
  for (const auto& c : m.candidates) {
    auto r = cross_validate(s, c, train_people, 4, seed + 101);
    if (!r) return r.error();
    const double t = tar_at(r->pooled, 1e-3), e = r->pooled.eer;
    if (t > best_tar || (t == best_tar && e < best_eer)) {
      best = &c;
      best_tar = t;
      best_eer = e;
    }
  }
  return best;
}

Result<CvResult> cross_validate(const DescriptorSet& s, const Method& m, const std::vector<int>& people, int folds,
                                unsigned seed) {
  const auto fold_of = assign_folds(s, people, folds, seed);
  CvResult r;
  std::vector<float> pg, pi;
  for (int f = 0; f < folds; ++f) {
    std::vector<std::size_t> train, test;
    std::vector<int> train_people;
    for (int p : people)
      if (fold_of[static_cast<std::size_t>(p)] != f) train_people.push_back(p);
    for (std::size_t i = 0; i < s.images.size(); ++i) {
      const int fo = fold_of[static_cast<std::size_t>(s.person[i])];
      if (fo < 0) continue;   // not among `people`
      if (fo == f) test.push_back(i);
      else if (s.ok[i]) train.push_back(i);
    }
    const Method* use = &m;
    if (!m.candidates.empty()) {
      auto c = choose(s, m, train_people, seed);
      if (!c) return c.error();
      use = *c;
      r.chosen.push_back(use->name);
    }
    auto fit = fit_method(s, *use, train);
    if (!fit) return fit.error();
    const auto pairs = all_pairs(test, s);
    auto sc = score_pairs(s, *use, *fit, pairs);
    if (!sc) return sc.error();
    std::vector<float> g, im;
    for (std::size_t k = 0; k < pairs.size(); ++k) (pairs[k].same ? g : im).push_back((*sc)[k]);
    r.folds.push_back(compute_metrics(g, im));
    pg.insert(pg.end(), g.begin(), g.end());
    pi.insert(pi.end(), im.begin(), im.end());
  }
  r.pooled = compute_metrics(pg, pi);
  r.genuine = std::move(pg);
  r.impostor = std::move(pi);
  return r;
}

Method mk(std::string name, std::vector<std::string> parts, bool flip = false, bool zweight = false,
          std::optional<ProjectionConfig> proj = std::nullopt, int asnorm_k = 0) {
  Method m;
  m.name = std::move(name);
  m.parts = std::move(parts);
  m.flip = flip;
  m.zweight = zweight;
  m.proj = std::move(proj);
  m.asnorm_k = asnorm_k;
  return m;
}

std::vector<Method> all_methods() {
  std::vector<Method> ms;
  const std::string dlib = "dlib_resnet_v1";
  const std::vector<std::string> margins = {"0.05", "0.1", "0.2", "0.4", "0.6", "0.8"};
  auto fr = [](const std::string& mg) { return "faceres_v1_m" + mg; };
  auto lda = [](int pca, int out, double shrink = 0.1) { return ProjectionConfig{"lda", pca, out, shrink}; };
  auto wccn = [](int pca, double shrink = 0.1) { return ProjectionConfig{"wccn", pca, 0, shrink}; };
  const ProjectionConfig centre{"pca", 100000, 0, 0};
  // Single descriptors, test-time flip.
  ms.push_back(mk("dlib", {dlib}));
  ms.push_back(mk("dlib+flip", {dlib}, true));
  for (const auto& mg : margins) ms.push_back(mk("faceres_m" + mg, {fr(mg)}));
  for (const auto& mg : {"0.2", "0.4", "0.6"}) ms.push_back(mk("faceres_m" + std::string(mg) + "+flip", {fr(mg)}, true));
  // z-score fusion (weights 1/sd of the training folds' impostor scores).
  for (const auto& mg : margins) ms.push_back(mk("z(dlib,faceres_m" + mg + ")", {dlib, fr(mg)}, false, true));
  for (const auto& mg : {"0.2", "0.4", "0.6", "0.8"})
    ms.push_back(mk("z(dlib,faceres_m" + std::string(mg) + ")+flip", {dlib, fr(mg)}, true, true));
  // Projections fitted on the training identities.
  ms.push_back(mk("centre(dlib)", {dlib}, false, false, centre));
  ms.push_back(mk("wccn(dlib)", {dlib}, false, false, wccn(128)));
  ms.push_back(mk("lda(dlib) k64", {dlib}, false, false, lda(128, 64)));
  ms.push_back(mk("wccn(faceres_m0.4)", {fr("0.4")}, false, false, wccn(256)));
  ms.push_back(mk("lda(faceres_m0.4)", {fr("0.4")}, false, false, lda(256, 128)));
  ms.push_back(mk("centre(concat)+flip", {dlib, fr("0.4")}, true, true, centre));
  ms.push_back(mk("wccn(concat)+flip", {dlib, fr("0.4")}, true, true, wccn(256)));
  for (double sh : {0.5, 2.0, 8.0})
    ms.push_back(mk("wccn(concat)+flip shrink" + std::to_string(sh).substr(0, 3), {dlib, fr("0.4")}, true, true, wccn(256, sh)));
  ms.push_back(mk("lda(concat)", {dlib, fr("0.4")}, false, true, lda(256, 128)));
  ms.push_back(mk("lda(concat)+flip", {dlib, fr("0.4")}, true, true, lda(256, 128)));
  ms.push_back(mk("lda(concat)+flip shrink2", {dlib, fr("0.4")}, true, true, lda(256, 128, 2.0)));
  for (const auto& mg : {"0.4", "0.6"})
    for (int pca : {256, 512})
      for (double sh : {1.0, 2.0, 4.0})
        ms.push_back(mk("lda(dlib,faceres_m" + std::string(mg) + ")+flip p" + std::to_string(pca) + " k128 s" +
                            std::to_string(sh).substr(0, 3),
                        {dlib, fr(mg)}, true, true, lda(pca, 128, sh)));
  ms.push_back(mk("lda(dlib,faceres_m0.6)+flip p512 k256 s2.0", {dlib, fr("0.6")}, true, true, lda(512, 256, 2.0)));
  ms.push_back(mk("wccn(dlib,faceres_m0.6)+flip p512 s2.0", {dlib, fr("0.6")}, true, true, wccn(512, 2.0)));
  // Adaptive S-norm against the training folds' images (top 100, or as named).
  ms.push_back(mk("dlib+asnorm", {dlib}, false, false, std::nullopt, 100));
  ms.push_back(mk("dlib+flip+asnorm", {dlib}, true, false, std::nullopt, 100));
  ms.push_back(mk("z(dlib,faceres_m0.4)+asnorm", {dlib, fr("0.4")}, false, true, std::nullopt, 100));
  for (int k : {50, 100, 200})
    ms.push_back(mk("z(dlib,faceres_m0.4)+flip+asnorm" + std::to_string(k), {dlib, fr("0.4")}, true, true, std::nullopt, k));
  ms.push_back(mk("lda(concat)+flip+asnorm", {dlib, fr("0.4")}, true, true, lda(256, 128), 100));
  // Shippable family with its margin chosen by inner cross-validation on the training people.
  Method nz = mk("z(dlib,faceres)+flip, margin nested", {dlib, fr("0.4")}, true, true);
  for (const auto& mg : {"0.2", "0.4", "0.6", "0.8"})
    nz.candidates.push_back(mk("z(dlib,faceres_m" + std::string(mg) + ")+flip", {dlib, fr(mg)}, true, true));
  ms.push_back(nz);
  Method nl = mk("lda(concat)+flip, nested", {dlib, fr("0.4")}, true, true, lda(256, 128));
  for (const auto& mg : {"0.4", "0.6"})
    for (int pca : {256, 512})
      for (double sh : {1.0, 2.0, 4.0})
        nl.candidates.push_back(mk("lda(dlib,faceres_m" + std::string(mg) + ")+flip p" + std::to_string(pca) +
                                       " k128 s" + std::to_string(sh).substr(0, 3),
                                   {dlib, fr(mg)}, true, true, lda(pca, 128, sh)));
  ms.push_back(nl);
  // Fine-tuned dlib ResNet (tools/finetune): out-of-fold descriptors on the development set (each
  // image described by the model trained without its fold's people), the model trained on
  // everyone on the other sets.  dlib_ft: alevel0 + fc trained; dlib_ftfc: fc only (dlib_ftfc3:
  // learning rate 0.003 instead of 0.001).
  for (const std::string ft : {"dlib_ft", "dlib_ftfc", "dlib_ftfc3"}) {
    ms.push_back(mk(ft, {ft}));
    ms.push_back(mk(ft + "+flip", {ft}, true));
    ms.push_back(mk("z(" + ft + ",faceres_m0.6)+flip", {ft, fr("0.6")}, true, true));
    ms.push_back(mk("z(dlib," + ft + ")+flip", {dlib, ft}, true, true));
    ms.push_back(mk("z(dlib," + ft + ",faceres_m0.6)+flip", {dlib, ft, fr("0.6")}, true, true));
    ms.push_back(mk("z(" + ft + ",faceres_m0.6)+flip+asnorm50", {ft, fr("0.6")}, true, true, std::nullopt, 50));
  }
  // Issue 11: the ArcFace-chip networks (fr_feature_v1: faceplugin, 512-d; mfn_expo_v1: the expo
  // package's MobileFaceNet, 192-d), alone, flipped, and z-score fused with each other, dlib and
  // faceres (no learned projection: it is what failed fusion_v1's demographic check).
  const std::string frf = "fr_feature_v1", mfn = "mfn_expo_v1", fr6 = fr("0.6");
  ms.push_back(mk("fr", {frf}));
  ms.push_back(mk("fr+flip", {frf}, true));
  ms.push_back(mk("z(dlib,fr)", {dlib, frf}, false, true));
  ms.push_back(mk("z(dlib,fr)+flip", {dlib, frf}, true, true));
  ms.push_back(mk("z(fr,faceres_m0.6)+flip", {frf, fr6}, true, true));
  ms.push_back(mk("z(dlib,fr,faceres_m0.6)+flip", {dlib, frf, fr6}, true, true));
  ms.push_back(mk("mfn", {mfn}));
  ms.push_back(mk("mfn+flip", {mfn}, true));
  ms.push_back(mk("z(fr,mfn)", {frf, mfn}, false, true));
  ms.push_back(mk("z(fr,mfn)+flip", {frf, mfn}, true, true));
  ms.push_back(mk("z(dlib,mfn)+flip", {dlib, mfn}, true, true));
  ms.push_back(mk("z(dlib,fr,mfn)+flip", {dlib, frf, mfn}, true, true));
  ms.push_back(mk("z(fr,mfn,faceres_m0.6)+flip", {frf, mfn, fr6}, true, true));
  ms.push_back(mk("z(dlib,fr,mfn,faceres_m0.6)+flip", {dlib, frf, mfn, fr6}, true, true));
  return ms;
}

std::string fmt(double v, int prec = 4) {
  if (std::isnan(v)) return "n/s";
  std::ostringstream o;
  o << std::fixed << std::setprecision(prec) << v;
  return o.str();
}

nlohmann::json metrics_json(const Metrics& m) {
  return {{"eer", m.eer}, {"tar_1e-2", tar_at(m, 1e-2)}, {"tar_1e-3", tar_at(m, 1e-3)}, {"tar_1e-4", tar_at(m, 1e-4)},
          {"genuine", m.genuine}, {"impostor", m.impostor}};
}

struct Summary {
  double eer_mean = 0, eer_sd = 0, tar_mean = 0, tar_sd = 0;
};
Summary summarise(const CvResult& r) {
  Summary s;
  const double n = static_cast<double>(r.folds.size());
  for (const auto& f : r.folds) {
    s.eer_mean += f.eer / n;
    s.tar_mean += tar_at(f, 1e-3) / n;
  }
  for (const auto& f : r.folds) {
    s.eer_sd += std::pow(f.eer - s.eer_mean, 2) / n;
    s.tar_sd += std::pow(tar_at(f, 1e-3) - s.tar_mean, 2) / n;
  }
  s.eer_sd = std::sqrt(s.eer_sd);
  s.tar_sd = std::sqrt(s.tar_sd);
  return s;
}

// Loads a descriptor file and merges into it the variants of `extra` files of the same images.
Result<DescriptorSet> load_merged(const std::string& file, const std::vector<std::string>& extra) {
  auto s = load(file);
  if (!s) return s.error();
  for (const auto& e : extra) {
    auto x = load(e);
    if (!x) return x.error();
    if (x->images != s->images || x->ok != s->ok)
      return make_error(Reason::kUsage, e + " does not hold the same images (or enrolments) as " + file);
    for (std::size_t v = 0; v < x->variants.size(); ++v) {
      if (s->variant_index(x->variants[v].name) >= 0) continue;
      s->variants.push_back(x->variants[v]);
      s->desc.push_back(std::move(x->desc[v]));
    }
  }
  return s;
}

Result<DescriptorSet> load_dev(const std::string& file, const std::vector<std::string>& extra = {}) {
  auto s = load_merged(file, extra);
  if (!s) return s.error();
  if (s->people.empty()) return make_error(Reason::kUsage, file + " was not made from --folders");
  return s;
}

std::vector<int> everyone(const DescriptorSet& s) {
  std::vector<int> p(s.people.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int>(i);
  return p;
}

std::vector<std::size_t> enrolled(const DescriptorSet& s) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < s.images.size(); ++i)
    if (s.ok[i]) v.push_back(i);
  return v;
}

}  // namespace

int run_cv(const CvOptions& o) {
  auto dev = load_dev(o.data, o.extra);
  if (!dev) {
    std::cerr << dev.error().detail << "\n";
    return 2;
  }
  std::vector<std::pair<std::string, DescriptorSet>> others;
  for (const auto& spec : o.others) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos) {
      std::cerr << "--other NAME=FILE\n";
      return 2;
    }
    std::vector<std::string> files;
    std::stringstream list(spec.substr(eq + 1));
    for (std::string f; std::getline(list, f, ',');) files.push_back(f);
    auto s = load_merged(files.front(), std::vector<std::string>(files.begin() + 1, files.end()));
    if (!s) {
      std::cerr << s.error().detail << "\n";
      return 2;
    }
    others.emplace_back(spec.substr(0, eq), std::move(s.value()));
  }
  nlohmann::json out = {{"data", dev->data}, {"folds", o.folds}, {"seed", o.seed}, {"methods", nlohmann::json::array()}};
  std::cout << "identity-disjoint " << o.folds << "-fold CV on " << dev->data << " (" << dev->people.size()
            << " people, " << dev->images.size() << " images), seed " << o.seed << "\n\n";
  std::cout << "| method | EER (mean ± sd over folds) | TAR@1e-3 (mean ± sd) | EER pooled | TAR@1e-2 pooled | TAR@1e-3 pooled | TAR@1e-4 pooled |";
  for (const auto& [name, s] : others) std::cout << " " << name << " EER / TAR@1e-2 / TAR@1e-3 |";
  std::cout << "\n|---|---|---|---|---|---|---|";
  for (std::size_t k = 0; k < others.size(); ++k) std::cout << "---|";
  std::cout << "\n";
  for (const auto& m : all_methods()) {
    if (!o.methods.empty() && std::find(o.methods.begin(), o.methods.end(), m.name) == o.methods.end()) continue;
    if (!variant_ids(*dev, m)) {
      std::cerr << "[cv] skipped " << m.name << " (variant not in the data)\n";
      continue;
    }
    auto r = cross_validate(*dev, m, everyone(*dev), o.folds, o.seed);
    if (!r) {
      std::cerr << m.name << ": " << r.error().detail << "\n";
      return 2;
    }
    const Summary su = summarise(*r);
    std::cout << "| " << m.name << " | " << fmt(su.eer_mean) << " ± " << fmt(su.eer_sd) << " | " << fmt(su.tar_mean)
              << " ± " << fmt(su.tar_sd) << " | " << fmt(r->pooled.eer) << " | " << fmt(tar_at(r->pooled, 1e-2))
              << " | " << fmt(tar_at(r->pooled, 1e-3)) << " | " << fmt(tar_at(r->pooled, 1e-4)) << " |";
    nlohmann::json mj = {{"method", m.name}, {"pooled", metrics_json(r->pooled)}, {"folds", nlohmann::json::array()},
                         {"eer_mean", su.eer_mean}, {"eer_sd", su.eer_sd}, {"tar_1e-3_mean", su.tar_mean},
                         {"tar_1e-3_sd", su.tar_sd}, {"chosen", r->chosen}, {"other_sets", nlohmann::json::object()}};
    for (const auto& f : r->folds) mj["folds"].push_back(metrics_json(f));
    // The method fitted on every identity of the development set, applied to the other sets.
    const Method* use = &m;
    if (!m.candidates.empty()) {
      auto c = choose(*dev, m, everyone(*dev), o.seed);
      if (!c) return 2;
      use = *c;
      mj["chosen_all"] = use->name;
    }
    if (!others.empty()) {
      auto fit = fit_method(*dev, *use, enrolled(*dev));
      if (!fit) {
        std::cerr << fit.error().detail << "\n";
        return 2;
      }
      for (const auto& [name, s] : others) {
        auto sc = score_pairs(s, *use, *fit, s.pairs);
        if (!sc) {
          std::cerr << name << ": " << sc.error().detail << "\n";
          return 2;
        }
        std::vector<float> g, im;
        for (std::size_t k = 0; k < s.pairs.size(); ++k) (s.pairs[k].same ? g : im).push_back((*sc)[k]);
        const Metrics mo = compute_metrics(g, im);
        std::cout << " " << fmt(mo.eer) << " / " << fmt(tar_at(mo, 1e-2)) << " / " << fmt(tar_at(mo, 1e-3)) << " |";
        mj["other_sets"][name] = metrics_json(mo);
      }
    }
    std::cout << std::endl;
    if (!r->chosen.empty()) {
      std::cout << "|  (chosen per fold:";
      for (const auto& c : r->chosen) std::cout << " " << c << ";";
      std::cout << ")\n";
    }
    out["methods"].push_back(mj);
  }
  if (!o.json_out.empty()) {
    std::ofstream f(o.json_out);
    f << out.dump(2) << "\n";
  }
  return 0;
}

int run_fit(const FitOptions& o) {
  auto dev = load_dev(o.data, o.extra);
  if (!dev) {
    std::cerr << dev.error().detail << "\n";
    return 2;
  }
  for (const auto& m : all_methods()) {
    if (m.name != o.method) continue;
    if (m.asnorm_k > 0) {
      std::cerr << "AS-norm methods need a cohort of face descriptors at run time; not shipped\n";
      return 2;
    }
    const Method* use = &m;
    if (!m.candidates.empty()) {
      auto c = choose(*dev, m, everyone(*dev), 7);
      if (!c) return 2;
      use = *c;
    }
    auto fit = fit_method(*dev, *use, enrolled(*dev));
    if (!fit) {
      std::cerr << fit.error().detail << "\n";
      return 2;
    }
    auto cv = cross_validate(*dev, m, everyone(*dev), 5, 7);
    if (!cv) return 2;
    FusionModel model = fit->model;
    model.id = o.id;
    std::string extra_args;
    for (const auto& e : o.extra) extra_args += " --extra " + e;
    const std::time_t t = std::time(nullptr);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&t));
    model.provenance = {{"method", m.name},
                        {"fitted_as", use->name},
                        {"data", dev->data},
                        {"people", dev->people.size()},
                        {"images_enrolled", enrolled(*dev).size()},
                        {"command", "fusion_tool fit --data " + o.data + extra_args + " --method '" + o.method +
                                        "' --id " + o.id + " --out " + o.out},
                        {"created", date},
                        {"cv_5fold_seed7", {{"pooled", metrics_json(cv->pooled)},
                                            {"eer_mean", summarise(*cv).eer_mean},
                                            {"tar_1e-3_mean", summarise(*cv).tar_mean}}}};
    std::ofstream f(o.out);
    if (!(f << to_json(model).dump(1) << "\n")) {
      std::cerr << "cannot write " << o.out << "\n";
      return 2;
    }
    std::cerr << "[fit] " << o.id << " (" << use->name << ", " << model.dims() << " dims) -> " << o.out
              << "; CV pooled EER " << cv->pooled.eer << ", TAR@1e-3 " << tar_at(cv->pooled, 1e-3) << "\n";
    return 0;
  }
  std::cerr << "unknown method " << o.method << "\n";
  return 2;
}

int run_calibrate_cv(const CalibrateCvOptions& o) {
  auto dev = load_dev(o.data, o.extra);
  if (!dev) {
    std::cerr << dev.error().detail << "\n";
    return 2;
  }
  for (const auto& m : all_methods()) {
    if (m.name != o.method) continue;
    if (!m.candidates.empty() || m.asnorm_k > 0) {
      std::cerr << "give a method without nested choice or AS-norm (e.g. the one `fit` chose)\n";
      return 2;
    }
    auto cv = cross_validate(*dev, m, everyone(*dev), 5, 7);
    if (!cv) {
      std::cerr << cv.error().detail << "\n";
      return 2;
    }
    CalibrationTable t = make_calibration(o.id, cv->genuine, cv->impostor, {1e-2, 1e-3, 1e-4, 1e-5});
    std::string extra_args;
    for (const auto& e : o.extra) extra_args += " --extra " + e;
    t.data = dev->data + " (out-of-fold scores of 5-fold identity-disjoint cross-validation, seed 7: " + m.name +
             " fitted on the other folds' people)";
    t.command = "fusion_tool calibrate-cv --data " + o.data + extra_args + " --method '" + o.method + "' --id " + o.id +
                " --out " + o.out;
    const std::time_t now = std::time(nullptr);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    t.created = date;
    std::ofstream f(o.out);
    if (!(f << to_json(t).dump(2) << "\n")) {
      std::cerr << "cannot write " << o.out << "\n";
      return 2;
    }
    std::cerr << "[calibrate-cv] " << o.id << ": " << t.points.size() << " points -> " << o.out << "\n";
    return 0;
  }
  std::cerr << "unknown method " << o.method << "\n";
  return 2;
}

}  // namespace simkyc::fusion
