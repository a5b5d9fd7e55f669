// finetune_tool — issue 7 (East Asian accuracy): fine-tuning the last layers of the dlib ResNet
// (alevel0 + fc, or fc only) with dlib's loss_metric on the CPU, cross-validated over the same
// identity-disjoint folds as tools/fusion (docs/accuracy.md, "Fine-tuning the dlib ResNet").
//
//   finetune_tool features --desc SET.desc --out SET.feat [--jitter J]
//       for every image of a descriptor file (same order; the default analyzer: hog+mmod, 5-pt
//       landmarks, the dlib embedder's aligned 150 px chip), the frozen ResNet's output at the
//       input of alevel0 for the chip, its mirror and J dlib::jitter_image copies
//   finetune_tool train --desc EAST.desc --feat EAST.feat --out EAST-ft.desc [--other SET.feat=SET-ft.desc]...
//       per fold of fusion's assign_folds (5, seed 7): the top trained (initialised from the
//       pretrained weights) on the other folds' people, checkpoint (step count) chosen on a held-out
//       part of those people, then retrained on all of them for that many steps; the fold's images
//       described by it.  Writes the out-of-fold descriptors as one variant; with --other, one more
//       model trained on every person describes the other sets.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <dlib/dnn.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/file.h"
#include "core/model_manifest.h"
#include "face/analyzer.h"
#include "face/embedder.h"
#include "face/resnet_dlib.h"
#include "image/image.h"
#include "match/evaluation.h"
#include "../fusion/descriptor_cache.h"
#include "../fusion/experiments.h"

using namespace simkyc;

namespace {

// The frozen trunk's output (input of alevel0) for a 150 px chip.
constexpr long kK = 256, kR = 4, kC = 4, kDim = kK * kR * kC;

// Input layer: one feature tensor (kK x kR x kC) per sample.
class input_feat {
 public:
  using input_type = dlib::matrix<float, 0, 1>;
  template <typename It>
  void to_tensor(It ibegin, It iend, dlib::resizable_tensor& data) const {
    data.set_size(std::distance(ibegin, iend), kK, kR, kC);
    float* p = data.host();
    for (It i = ibegin; i != iend; ++i) {
      DLIB_CASSERT(i->size() == kDim);
      std::copy(i->begin(), i->end(), p);
      p += kDim;
    }
  }
  friend void serialize(const input_feat&, std::ostream& out) { dlib::serialize("input_feat", out); }
  friend void deserialize(input_feat&, std::istream& in) {
    std::string v;
    dlib::deserialize(v, in);
    if (v != "input_feat") throw dlib::serialization_error("not input_feat");
  }
  friend std::ostream& operator<<(std::ostream& out, const input_feat&) { return out << "input_feat"; }
  friend void to_xml(const input_feat&, std::ostream& out) { out << "<input_feat/>\n"; }
};

using TopNet = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<dlib_resnet::alevel0<input_feat>>>>;
// Layers 1 (fc) .. 13 (alevel0's tag1) of TopNet are the same types as ResNet's; layer 14 of
// ResNet is alevel1's output.
constexpr std::size_t kTopLayers = 13;

template <std::size_t I = 1, typename A, typename B>
void copy_layers(A& dst, B& src) {
  if constexpr (I <= kTopLayers) {
    auto& d = dlib::layer<I>(dst);
    auto& s = dlib::layer<I>(src);
    if constexpr (requires { d.layer_details() = s.layer_details(); }) {
      d.layer_details() = s.layer_details();
    }
    copy_layers<I + 1>(dst, src);
  }
}

// The pretrained weights into a TopNet.  One forward pass first: dlib sets a layer up (and
// initialises its parameters at random) on its first forward pass, which would overwrite them.
void copy_top(TopNet& dst, dlib_resnet::ResNet& src) {
  const dlib::matrix<float, 0, 1> zero = dlib::zeros_matrix<float>(kDim, 1);
  (void)dst(zero);
  copy_layers(dst, src);
}

Result<dlib_resnet::ResNet> load_resnet(const std::string& model_dir) {
  auto file = find_model(model_dir, "dlib_resnet_v1");
  if (!file) return file.error();
  dlib_resnet::ResNet net;
  try {
    dlib::deserialize(file->path.string()) >> net;
  } catch (const std::exception& e) {
    return make_error(Reason::kModelError, std::string("ResNet: ") + e.what());
  }
  return net;
}

// ---- feature files ------------------------------------------------------------------------------
constexpr char kMagic[] = "SKFEAT1\n";

struct Features {
  std::string desc;            // the descriptor file whose image order this follows
  int copies = 0;              // 0: chip, 1: mirror, 2..: jitter copies
  std::vector<char> ok;
  std::vector<float> x;        // images x copies x kDim
  const float* at(std::size_t i, int c) const { return x.data() + (i * static_cast<std::size_t>(copies) + c) * kDim; }
};

Status save_features(const Features& f, const std::string& file) {
  nlohmann::json h = {{"desc", f.desc}, {"copies", f.copies}, {"shape", {kK, kR, kC}},
                      {"ok", std::vector<int>(f.ok.begin(), f.ok.end())}};
  const std::string hs = h.dump();
  std::ofstream o(file, std::ios::binary);
  const std::uint64_t len = hs.size();
  o.write(kMagic, 8);
  o.write(reinterpret_cast<const char*>(&len), sizeof len);
  o.write(hs.data(), static_cast<std::streamsize>(len));
  o.write(reinterpret_cast<const char*>(f.x.data()), static_cast<std::streamsize>(f.x.size() * sizeof(float)));
  if (!o) return make_error(Reason::kIoError, "cannot write " + file);
  return ok_status();
}

Result<Features> load_features(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[8];
  std::uint64_t len = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !in.read(reinterpret_cast<char*>(&len), sizeof len) ||
      len > (1u << 30))
    return make_error(Reason::kIoError, "not a feature file: " + file);
  std::string hs(len, '\0');
  in.read(hs.data(), static_cast<std::streamsize>(len));
  Features f;
  const auto h = nlohmann::json::parse(hs);
  f.desc = h.at("desc");
  f.copies = h.at("copies");
  for (int o : h.at("ok").get<std::vector<int>>()) f.ok.push_back(static_cast<char>(o));
  if (h.at("shape") != nlohmann::json({kK, kR, kC})) return make_error(Reason::kIoError, "feature shape differs");
  f.x.resize(f.ok.size() * static_cast<std::size_t>(f.copies) * kDim);
  if (!in.read(reinterpret_cast<char*>(f.x.data()), static_cast<std::streamsize>(f.x.size() * sizeof(float))))
    return make_error(Reason::kIoError, "truncated " + file);
  return f;
}

dlib::matrix<dlib::rgb_pixel> to_dlib(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  dlib::matrix<dlib::rgb_pixel> img;
  dlib::assign_image(img, dlib::cv_image<dlib::rgb_pixel>(rgb));
  return img;
}

int run_features(const std::string& model_dir, const std::string& desc_file, const std::string& out, int jitter,
                 int threads) {
  auto ds = fusion::load(desc_file);
  if (!ds) {
    std::cerr << ds.error().detail << "\n";
    return 2;
  }
  auto resnet = load_resnet(model_dir);
  if (!resnet) {
    std::cerr << resnet.error().detail << "\n";
    return 2;
  }
  auto analyzer = FaceAnalyzer::load(model_dir, AnalyzerConfig{});
  auto emb = make_embedder(model_dir, "dlib_resnet_v1");
  if (!analyzer || !emb) {
    std::cerr << "cannot load the analyzer / dlib embedder\n";
    return 2;
  }
  const ModelInfo info = emb.value()->info();
  const std::size_t n = ds->images.size();
  Features f;
  f.desc = desc_file;
  f.copies = 2 + jitter;
  f.ok.assign(n, 0);
  f.x.assign(n * static_cast<std::size_t>(f.copies) * kDim, 0.f);
  std::atomic<std::size_t> next{0}, done{0};
  std::atomic<int> mismatches{0};
  double check_diff = -1;
  std::mutex mu;
  auto work = [&]() {
    FaceAnalyzer a = analyzer->clone();
    dlib_resnet::ResNet net = *resnet;
    TopNet top;
    copy_top(top, net);
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      if (ds->ok[i]) {
        auto bytes = read_file_limited(ds->images[i], ImageLimits{}.max_bytes);
        auto img = bytes ? decode_image(*bytes) : Result<Image>(bytes.error());
        auto fa = img ? a.analyze(img->bgr, /*embed=*/false) : Result<FaceAnalysis>(img.error());
        if (fa) {
          FaceChip chip = make_embedder_chip(img->bgr, fa->box, fa->landmarks, info);
          cv::Mat mirror;
          cv::flip(chip.bgr, mirror, 1);
          std::vector<dlib::matrix<dlib::rgb_pixel>> batch = {to_dlib(chip.bgr), to_dlib(mirror)};
          dlib::rand rnd(static_cast<unsigned>(i) * 7919u + 17u);
          for (int j = 0; j < jitter; ++j) batch.push_back(dlib::jitter_image(batch[0], rnd));
          dlib::resizable_tensor x;
          net.to_tensor(batch.begin(), batch.end(), x);
          net.subnet().forward(x);
          const dlib::tensor& t = dlib::layer<kTopLayers + 1>(net).get_output();
          if (t.k() != kK || t.nr() != kR || t.nc() != kC) {
            std::lock_guard l(mu);
            std::cerr << "unexpected trunk output " << t.k() << "x" << t.nr() << "x" << t.nc() << "\n";
            std::exit(2);
          }
          std::copy(t.host(), t.host() + t.size(), f.x.begin() + static_cast<long>(i * f.copies * kDim));
          f.ok[i] = 1;
          if (i == 0 || check_diff < 0) {   // the top on the cached trunk output == the whole network
            const dlib::matrix<float, 0, 1> full = net(batch[0]);
            dlib::matrix<float, 0, 1> in(kDim);
            std::copy(t.host(), t.host() + kDim, in.begin());
            const dlib::matrix<float, 0, 1> part = top(in);
            std::lock_guard l(mu);
            check_diff = dlib::max(dlib::abs(full - part));
          }
        } else {
          ++mismatches;
        }
      }
      const std::size_t d = done.fetch_add(1) + 1;
      if (d % 50 == 0 || d == n) std::cerr << "\r[features] " << d << "/" << n << std::flush;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::cerr << "\n[features] " << n << " images, " << mismatches << " enrolled in " << desc_file
            << " but without a face now; top-vs-whole-network max |diff| " << check_diff << "\n";
  if (mismatches > 0) return 2;
  if (auto st = save_features(f, out); !st) {
    std::cerr << st.error().detail << "\n";
    return 2;
  }
  return 0;
}

// ---- training -----------------------------------------------------------------------------------
struct TrainOptions {
  std::string mode = "top";   // top: alevel0 + fc; fc: fc only
  double lr = 0.01, wd = 5e-4, momentum = 0.9;
  int ids_per_batch = 32, per_id = 3;
  int max_steps = 3000, eval_every = 100;
  double val_fraction = 0.15;
  unsigned seed = 7;
};

TopNet initial_net(const dlib_resnet::ResNet& pre, const TrainOptions& o) {
  TopNet net;
  dlib_resnet::ResNet copy = pre;
  copy_top(net, copy);
  if (o.mode == "fc") dlib::set_learning_rate_multipliers_range<2, kTopLayers + 1>(net, 0);
  return net;
}

dlib::matrix<float, 0, 1> feat(const Features& f, std::size_t i, int c) {
  dlib::matrix<float, 0, 1> m(kDim);
  std::copy(f.at(i, c), f.at(i, c) + kDim, m.begin());
  return m;
}

Descriptor unit(const dlib::matrix<float, 0, 1>& v) {
  Descriptor d(v.begin(), v.end());
  double s = 0;
  for (float x : d) s += static_cast<double>(x) * x;
  s = std::sqrt(s);
  for (float& x : d) x = static_cast<float>(x / s);
  return d;
}

// Chip and mirror descriptors of the given images.
std::vector<std::array<Descriptor, 2>> describe(TopNet& net, const Features& f, const std::vector<std::size_t>& imgs) {
  std::vector<dlib::matrix<float, 0, 1>> in;
  for (std::size_t i : imgs) {
    in.push_back(feat(f, i, 0));
    in.push_back(feat(f, i, 1));
  }
  const auto out = net(in, 64);
  std::vector<std::array<Descriptor, 2>> d;
  for (std::size_t k = 0; k < imgs.size(); ++k) d.push_back({unit(out[2 * k]), unit(out[2 * k + 1])});
  return d;
}

double tar(const Metrics& m, double far) {
  for (const auto& t : m.tar_at_far)
    if (std::abs(t.far - far) < far / 100) return t.supported ? t.tar : 0.0;
  return 0.0;
}

// Flip-averaged cosine over all pairs of the given images.
Metrics evaluate(TopNet& net, const Features& f, const fusion::DescriptorSet& s, const std::vector<std::size_t>& imgs) {
  const auto d = describe(net, f, imgs);
  std::vector<Descriptor> y;
  for (const auto& p : d) {
    Descriptor m(p[0].size());
    double n = 0;
    for (std::size_t k = 0; k < m.size(); ++k) n += std::pow(m[k] = p[0][k] + p[1][k], 2);
    for (float& v : m) v = static_cast<float>(v / std::sqrt(n));
    y.push_back(std::move(m));
  }
  std::vector<float> g, im;
  for (std::size_t a = 0; a < imgs.size(); ++a)
    for (std::size_t b = a + 1; b < imgs.size(); ++b) {
      float sc = 0;
      for (std::size_t k = 0; k < y[a].size(); ++k) sc += y[a][k] * y[b][k];
      (s.person[imgs[a]] == s.person[imgs[b]] ? g : im).push_back(sc);
    }
  return compute_metrics(g, im);
}

// Trains on the images of `train_people`; when `val` is non-empty, evaluates every eval_every
// steps and returns the best step count (criterion: TAR@1e-2 + TAR@1e-3 on `val`); otherwise
// trains exactly `steps` steps.  The trained net is left in `net`.
int train(TopNet& net, const Features& f, const fusion::DescriptorSet& s, const std::vector<int>& train_people,
          const std::vector<std::size_t>& val, int steps, const TrainOptions& o, unsigned seed, std::ostream& log) {
  std::map<int, std::vector<std::size_t>> photos;
  for (std::size_t i = 0; i < s.images.size(); ++i)
    if (f.ok[i] && std::find(train_people.begin(), train_people.end(), s.person[i]) != train_people.end())
      photos[s.person[i]].push_back(i);
  std::vector<int> ids;
  for (const auto& [p, v] : photos)
    if (v.size() >= 2) ids.push_back(p);
  std::mt19937 rng(seed);
  dlib::dnn_trainer<TopNet> tr(net, dlib::sgd(static_cast<float>(o.wd), static_cast<float>(o.momentum)));
  tr.set_learning_rate(o.lr);
  tr.set_min_learning_rate(o.lr * 1e-3);
  tr.set_iterations_without_progress_threshold(1000000);   // a fixed learning rate; the step count is chosen
  tr.be_quiet();
  const int total = val.empty() ? steps : o.max_steps;
  double best = -1;
  int best_step = 0;
  auto score = [&](int step) {
    const Metrics m = evaluate(tr.get_net(), f, s, val);
    const double c = tar(m, 1e-2) + tar(m, 1e-3);
    log << "    step " << step << " val EER " << m.eer << " TAR@1e-2 " << tar(m, 1e-2) << " TAR@1e-3 " << tar(m, 1e-3)
        << " loss " << tr.get_average_loss() << "\n";
    if (c > best) {
      best = c;
      best_step = step;
    }
  };
  if (!val.empty()) score(0);
  std::vector<dlib::matrix<float, 0, 1>> x;
  std::vector<unsigned long> y;
  for (int step = 1; step <= total; ++step) {
    x.clear();
    y.clear();
    std::shuffle(ids.begin(), ids.end(), rng);
    const std::size_t np = std::min<std::size_t>(static_cast<std::size_t>(o.ids_per_batch), ids.size());
    for (std::size_t k = 0; k < np; ++k) {
      auto v = photos[ids[k]];
      std::shuffle(v.begin(), v.end(), rng);
      const std::size_t take = std::min<std::size_t>(static_cast<std::size_t>(o.per_id), v.size());
      for (std::size_t j = 0; j < take; ++j) {
        x.push_back(feat(f, v[j], static_cast<int>(rng() % static_cast<unsigned>(f.copies))));
        y.push_back(static_cast<unsigned long>(ids[k]));
      }
    }
    tr.train_one_step(x, y);
    if (!val.empty() && step % o.eval_every == 0) score(step);
  }
  tr.get_net();
  net.clean();
  return val.empty() ? steps : best_step;
}

// Trains a model on `people` the way every fold does: step count chosen on a held-out part of
// them, then retrained on all of them.
TopNet fit_people(const dlib_resnet::ResNet& pre, const Features& f, const fusion::DescriptorSet& s,
                  std::vector<int> people, const TrainOptions& o, unsigned seed, std::ostream& log, int* steps_out) {
  std::mt19937 rng(seed);
  std::shuffle(people.begin(), people.end(), rng);
  const std::size_t nv = static_cast<std::size_t>(std::lround(o.val_fraction * static_cast<double>(people.size())));
  std::vector<int> val_people(people.begin(), people.begin() + static_cast<long>(nv));
  std::vector<int> fitted(people.begin() + static_cast<long>(nv), people.end());
  std::vector<std::size_t> val;
  for (std::size_t i = 0; i < s.images.size(); ++i)
    if (f.ok[i] && std::find(val_people.begin(), val_people.end(), s.person[i]) != val_people.end()) val.push_back(i);
  TopNet probe = initial_net(pre, o);
  const int steps = train(probe, f, s, fitted, val, 0, o, seed + 1, log);
  log << "  chosen step count " << steps << " (" << fitted.size() << " people fitted, " << val_people.size()
      << " held out)\n";
  TopNet net = initial_net(pre, o);
  if (steps > 0) train(net, f, s, people, {}, steps, o, seed + 2, log);
  if (steps_out) *steps_out = steps;
  return net;
}

fusion::DescriptorSet with_variant(const fusion::DescriptorSet& s, const std::string& name,
                                   std::vector<std::array<Descriptor, 2>> d, const std::string& mode) {
  fusion::DescriptorSet o;
  o.data = s.data;
  o.images = s.images;
  o.person = s.person;
  o.people = s.people;
  o.pairs = s.pairs;
  o.ok = s.ok;
  o.variants = {fusion::Variant{name, "dlib_resnet_ft_" + mode, -1, 128}};
  o.desc = {std::move(d)};
  return o;
}

struct TrainCmd {
  std::string desc, feat, out, variant = "dlib_ft", log_file, model_out, list_out;
  std::vector<std::string> others;   // FEAT=OUT.desc
  int folds = 5;
  unsigned fold_seed = 7;
  TrainOptions opt;
};

int run_train(const std::string& model_dir, const TrainCmd& c) {
  auto s = fusion::load(c.desc);
  auto f = load_features(c.feat);
  auto pre = load_resnet(model_dir);
  if (!s || !f || !pre) {
    std::cerr << "cannot load " << c.desc << " / " << c.feat << " / the ResNet\n";
    return 2;
  }
  if (f->ok != s->ok) {
    std::cerr << c.feat << " does not hold the enrolments of " << c.desc << "\n";
    return 2;
  }
  std::ofstream logf;
  if (!c.log_file.empty()) logf.open(c.log_file);
  std::ostream& log = c.log_file.empty() ? std::cerr : logf;
  std::vector<int> everyone(s->people.size());
  std::iota(everyone.begin(), everyone.end(), 0);
  const auto fold_of = fusion::assign_folds(*s, everyone, c.folds, c.fold_seed);
  if (!c.list_out.empty()) {   // the data list: every image (relative to the set), its person's fold
    std::ofstream l(c.list_out);
    l << "# " << s->data << ": image\tperson\tfold (fusion assign_folds, " << c.folds << " folds, seed " << c.fold_seed
      << ")\tenrolled\n";
    for (std::size_t i = 0; i < s->images.size(); ++i)
      l << std::filesystem::path(s->images[i]).lexically_relative(s->data).generic_string() << "\t"
        << s->people[static_cast<std::size_t>(s->person[i])] << "\t" << fold_of[static_cast<std::size_t>(s->person[i])]
        << "\t" << (s->ok[i] ? 1 : 0) << "\n";
  }
  std::vector<std::array<Descriptor, 2>> out(s->images.size());
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json steps = nlohmann::json::array();
  for (int fo = 0; fo < c.folds; ++fo) {
    std::vector<int> train_people;
    for (int p : everyone)
      if (fold_of[static_cast<std::size_t>(p)] != fo) train_people.push_back(p);
    std::vector<std::size_t> test;
    for (std::size_t i = 0; i < s->images.size(); ++i)
      if (s->ok[i] && fold_of[static_cast<std::size_t>(s->person[i])] == fo) test.push_back(i);
    log << "fold " << fo << ": " << train_people.size() << " training people, " << test.size() << " test images\n";
    int st = 0;
    TopNet net = fit_people(*pre, *f, *s, train_people, c.opt, c.opt.seed + 1000u * static_cast<unsigned>(fo), log, &st);
    steps.push_back(st);
    const auto d = describe(net, *f, test);
    for (std::size_t k = 0; k < test.size(); ++k) out[test[k]] = d[k];
    const Metrics m = evaluate(net, *f, *s, test);
    log << "  fold " << fo << " test (flip-averaged, for the log only): EER " << m.eer << " TAR@1e-3 " << tar(m, 1e-3)
        << "\n";
    log.flush();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log << "[train] " << c.folds << " folds in " << secs << " s\n";
  std::cerr << "[train] " << c.folds << " folds in " << secs << " s; step counts " << steps.dump() << "\n";
  if (auto st = fusion::save(with_variant(*s, c.variant, std::move(out), c.opt.mode), c.out); !st) {
    std::cerr << st.error().detail << "\n";
    return 2;
  }
  if (c.others.empty() && c.model_out.empty()) return 0;
  // One model on every person, for the other sets (and to ship, if it earns it).
  const auto t1 = std::chrono::steady_clock::now();
  int st_all = 0;
  TopNet net = fit_people(*pre, *f, *s, everyone, c.opt, c.opt.seed + 99999u, log, &st_all);
  std::cerr << "[train] all " << everyone.size() << " people: " << st_all << " steps, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() << " s\n";
  if (!c.model_out.empty()) dlib::serialize(c.model_out) << net;
  for (const auto& spec : c.others) {
    const auto eq = spec.find('=');
    auto of = load_features(spec.substr(0, eq));
    if (!of) {
      std::cerr << of.error().detail << "\n";
      return 2;
    }
    auto os = fusion::load(of->desc);
    if (!os || os->ok != of->ok) {
      std::cerr << "cannot load " << of->desc << " (or its enrolments differ)\n";
      return 2;
    }
    std::vector<std::size_t> imgs;
    for (std::size_t i = 0; i < os->images.size(); ++i)
      if (os->ok[i]) imgs.push_back(i);
    const auto d = describe(net, *of, imgs);
    std::vector<std::array<Descriptor, 2>> all(os->images.size());
    for (std::size_t k = 0; k < imgs.size(); ++k) all[imgs[k]] = d[k];
    if (auto r = fusion::save(with_variant(*os, c.variant, std::move(all), c.opt.mode), spec.substr(eq + 1)); !r) {
      std::cerr << r.error().detail << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"finetune_tool: fine-tuning the dlib ResNet's last layers on cached trunk features (issue 7)"};
  app.require_subcommand(1);
  std::string model_dir = SIMKYC_DEFAULT_MODEL_DIR;
  app.add_option("--models", model_dir, "Model directory")->capture_default_str();

  std::string desc, out;
  int jitter = 6, threads = 2;
  auto* fc = app.add_subcommand("features", "Frozen trunk features of every image of a descriptor file");
  fc->add_option("--desc", desc, "Descriptor file (tools/fusion dump) whose images to use")->required();
  fc->add_option("--out", out, "Feature file to write")->required();
  fc->add_option("--jitter", jitter, "dlib::jitter_image copies per image (training only)")->capture_default_str();
  fc->add_option("--threads", threads, "Worker threads")->capture_default_str();

  TrainCmd tc;
  auto* tr = app.add_subcommand("train", "Cross-validated fine-tuning; writes out-of-fold descriptors");
  tr->add_option("--desc", tc.desc, "Descriptor file of the development set (folders)")->required();
  tr->add_option("--feat", tc.feat, "Its feature file")->required();
  tr->add_option("--out", tc.out, "Descriptor file to write (one variant)")->required();
  tr->add_option("--variant", tc.variant, "Variant name")->capture_default_str();
  tr->add_option("--other", tc.others, "FEAT=OUT.desc: other sets described by the model trained on everyone");
  tr->add_option("--model-out", tc.model_out, "Save the model trained on everyone (dlib serialize)");
  tr->add_option("--log", tc.log_file, "Training log");
  tr->add_option("--list", tc.list_out, "Write the data list (image, person, fold, enrolled)");
  tr->add_option("--mode", tc.opt.mode, "top (alevel0 + fc) or fc")->check(CLI::IsMember({"top", "fc"}))->capture_default_str();
  tr->add_option("--lr", tc.opt.lr, "Learning rate (SGD)")->capture_default_str();
  tr->add_option("--wd", tc.opt.wd, "Weight decay")->capture_default_str();
  tr->add_option("--ids", tc.opt.ids_per_batch, "Identities per mini-batch")->capture_default_str();
  tr->add_option("--per-id", tc.opt.per_id, "Photos per identity per mini-batch")->capture_default_str();
  tr->add_option("--max-steps", tc.opt.max_steps, "Steps tried when choosing the step count")->capture_default_str();
  tr->add_option("--eval-every", tc.opt.eval_every, "Validation every N steps")->capture_default_str();
  tr->add_option("--val-fraction", tc.opt.val_fraction, "Share of the training people held out")->capture_default_str();
  tr->add_option("--seed", tc.opt.seed, "Training seed")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (fc->parsed()) return run_features(model_dir, desc, out, jitter, threads);
  if (tr->parsed()) return run_train(model_dir, tc);
  return 2;
}
