#include "match/fusion_fit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <dlib/matrix.h>

namespace simkyc {
namespace {

using Mat = dlib::matrix<double>;

// Eigenvectors of a symmetric matrix, by eigenvalue descending: (values, vectors as columns).
std::pair<std::vector<double>, Mat> eig_desc(const Mat& s) {
  dlib::eigenvalue_decomposition<Mat> e(dlib::make_symmetric(s));
  const auto& val = e.get_real_eigenvalues();
  const Mat& vec = e.get_pseudo_v();
  std::vector<long> order(static_cast<std::size_t>(val.size()));
  std::iota(order.begin(), order.end(), 0L);
  std::sort(order.begin(), order.end(), [&](long a, long b) { return val(a) > val(b); });
  std::vector<double> vals;
  Mat out(vec.nr(), static_cast<long>(order.size()));
  for (std::size_t k = 0; k < order.size(); ++k) {
    vals.push_back(val(order[k]));
    dlib::set_colm(out, static_cast<long>(k)) = dlib::colm(vec, order[k]);
  }
  return {vals, out};
}

}  // namespace

Result<LinearProjection> fit_projection(const std::vector<Descriptor>& x, const std::vector<int>& person,
                                        const ProjectionConfig& cfg) {
  if (x.size() < 2 || x.size() != person.size()) return make_error(Reason::kUsage, "fit_projection: need samples");
  const long n = static_cast<long>(x.size()), d = static_cast<long>(x[0].size());
  std::map<int, std::vector<long>> by_person;
  for (long i = 0; i < n; ++i) {
    if (static_cast<long>(x[static_cast<std::size_t>(i)].size()) != d)
      return make_error(Reason::kUsage, "fit_projection: sizes differ");
    by_person[person[static_cast<std::size_t>(i)]].push_back(i);
  }
  if (by_person.size() < 2) return make_error(Reason::kUsage, "fit_projection: need two people");
  if (cfg.kind != "pca" && cfg.kind != "wccn" && cfg.kind != "lda")
    return make_error(Reason::kUsage, "fit_projection: unknown kind " + cfg.kind);

  Mat X(n, d);
  for (long i = 0; i < n; ++i)
    for (long j = 0; j < d; ++j) X(i, j) = x[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  const Mat mu = dlib::sum_rows(X) / static_cast<double>(n);   // 1 x d
  for (long i = 0; i < n; ++i) dlib::set_rowm(X, i) = dlib::rowm(X, i) - mu;

  // PCA.
  const Mat cov = dlib::trans(X) * X / static_cast<double>(n);
  auto [pvals, pvecs] = eig_desc(cov);
  long p = std::min<long>({static_cast<long>(cfg.pca_dims), d, n - 1});
  while (p > 1 && !(pvals[static_cast<std::size_t>(p - 1)] > 1e-10 * pvals[0])) --p;
  Mat P = dlib::colm(pvecs, dlib::range(0, p - 1));   // d x p

  if (cfg.kind != "pca") {
    const Mat Z = X * P;   // n x p
    // Within-person scatter (people with one sample add nothing) and class means.
    Mat sw = dlib::zeros_matrix<double>(p, p);
    std::vector<Mat> means;
    long within_n = 0;
    for (const auto& [who, idx] : by_person) {
      Mat m = dlib::zeros_matrix<double>(1, p);
      for (long i : idx) m += dlib::rowm(Z, i);
      m /= static_cast<double>(idx.size());
      means.push_back(m);
      if (idx.size() < 2) continue;
      for (long i : idx) {
        const Mat r = dlib::rowm(Z, i) - m;
        sw += dlib::trans(r) * r;
        ++within_n;
      }
    }
    if (within_n == 0) return make_error(Reason::kUsage, "fit_projection: nobody has two samples");
    sw /= static_cast<double>(within_n);
    const double avg = dlib::trace(sw) / static_cast<double>(p);
    sw += cfg.within_shrink * avg * dlib::identity_matrix<double>(p);
    auto [wvals, wvecs] = eig_desc(sw);
    Mat W = wvecs;   // p x p, whitening: columns scaled by 1/sqrt(eigenvalue)
    for (long k = 0; k < p; ++k)
      dlib::set_colm(W, k) = dlib::colm(wvecs, k) / std::sqrt(std::max(wvals[static_cast<std::size_t>(k)], 1e-12));
    P = P * W;
    if (cfg.kind == "lda") {
      // Between-person scatter of the whitened class means, every person weighted alike.
      Mat sb = dlib::zeros_matrix<double>(p, p);
      Mat grand = dlib::zeros_matrix<double>(1, p);
      for (const auto& m : means) grand += m * W;
      grand /= static_cast<double>(means.size());
      for (const auto& m : means) {
        const Mat r = m * W - grand;
        sb += dlib::trans(r) * r;
      }
      sb /= static_cast<double>(means.size());
      auto [bvals, bvecs] = eig_desc(sb);
      const long k = std::min<long>({static_cast<long>(cfg.out_dims), p, static_cast<long>(means.size()) - 1});
      P = P * dlib::colm(bvecs, dlib::range(0, k - 1));
    }
  }

  LinearProjection out;
  out.in_dims = static_cast<int>(d);
  out.out_dims = static_cast<int>(P.nc());
  out.mean.resize(static_cast<std::size_t>(d));
  for (long j = 0; j < d; ++j) out.mean[static_cast<std::size_t>(j)] = static_cast<float>(mu(0, j));
  out.matrix.resize(static_cast<std::size_t>(d * P.nc()));
  for (long i = 0; i < d; ++i)
    for (long k = 0; k < P.nc(); ++k) out.matrix[static_cast<std::size_t>(i * P.nc() + k)] = static_cast<float>(P(i, k));
  return out;
}

Descriptor project(const LinearProjection& p, const Descriptor& x) {
  const auto D = static_cast<std::size_t>(p.in_dims), K = static_cast<std::size_t>(p.out_dims);
  std::vector<double> y(K, 0.0);
  for (std::size_t i = 0; i < D && i < x.size(); ++i) {
    const double xi = static_cast<double>(x[i]) - p.mean[i];
    const float* row = p.matrix.data() + i * K;
    for (std::size_t k = 0; k < K; ++k) y[k] += xi * row[k];
  }
  double nrm = 0;
  for (double v : y) nrm += v * v;
  nrm = std::sqrt(nrm);
  Descriptor out(K);
  for (std::size_t k = 0; k < K; ++k) out[k] = static_cast<float>(nrm > 0 ? y[k] / nrm : 0.0);
  return out;
}

namespace {
float dot(const Descriptor& a, const Descriptor& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}
}  // namespace

double impostor_score_sd(const std::vector<Descriptor>& x, const std::vector<int>& person, std::size_t max_pairs) {
  const std::size_t n = x.size();
  const std::size_t all = n * (n - 1) / 2;
  const std::size_t step = std::max<std::size_t>(1, all / std::max<std::size_t>(1, max_pairs));
  double s = 0, s2 = 0;
  std::size_t k = 0, m = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j, ++k) {
      if (k % step != 0 || person[i] == person[j]) continue;
      const double v = dot(x[i], x[j]);
      s += v;
      s2 += v * v;
      ++m;
    }
  if (m < 2) return 1.0;
  const double mean = s / static_cast<double>(m);
  return std::sqrt(std::max(1e-12, s2 / static_cast<double>(m) - mean * mean));
}

CohortStats cohort_stats(const Descriptor& probe, const std::vector<Descriptor>& cohort, int top_k) {
  std::vector<float> s;
  s.reserve(cohort.size());
  for (const auto& c : cohort) s.push_back(dot(probe, c));
  const std::size_t k = std::min<std::size_t>(s.size(), static_cast<std::size_t>(std::max(1, top_k)));
  std::partial_sort(s.begin(), s.begin() + static_cast<long>(k), s.end(), std::greater<float>());
  double m = 0, m2 = 0;
  for (std::size_t i = 0; i < k; ++i) {
    m += s[i];
    m2 += static_cast<double>(s[i]) * s[i];
  }
  CohortStats st;
  if (k == 0) return st;
  m /= static_cast<double>(k);
  st.mean = static_cast<float>(m);
  st.sd = static_cast<float>(std::sqrt(std::max(1e-8, m2 / static_cast<double>(k) - m * m)));
  return st;
}

float as_norm(float score, const CohortStats& a, const CohortStats& b) {
  return 0.5f * ((score - a.mean) / a.sd + (score - b.mean) / b.sd);
}

}  // namespace simkyc
