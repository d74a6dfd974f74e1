// CSV datasets: numeric feature columns and one label column.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "data/io_util.hpp"
#include "mantissa/error.hpp"

namespace mantissa::data {
namespace {

// Every field of the file, record after record, with the line each record
// starts on so messages can point into the file.
struct CsvTable {
  std::vector<std::string> cells;
  std::vector<std::size_t> record_start{0};  // records() + 1 offsets into cells
  std::vector<std::int64_t> record_line;

  std::size_t records() const { return record_line.size(); }
  std::size_t fields(std::size_t r) const { return record_start[r + 1] - record_start[r]; }
  const std::string& cell(std::size_t r, std::size_t j) const { return cells[record_start[r] + j]; }
};

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 4180: fields may be quoted; inside quotes, "" is a quote and commas and
// line breaks are data. Lines end in \n, \r\n or \r.
CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable t;
  std::size_t pos = 0;
  const std::size_t n = text.size();
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // UTF-8 byte order mark
  std::int64_t line = 1;
  std::string field;
  while (pos < n) {
    const std::int64_t record_line = line;
    const std::size_t first_cell = t.cells.size();
    bool any_quoted = false;
    for (;;) {
      field.clear();
      if (pos < n && text[pos] == '"') {
        any_quoted = true;
        ++pos;
        for (;;) {
          if (pos >= n)
            throw InputError(name + ": row " + std::to_string(record_line) +
                             ": quoted field is not closed before the end of the file");
          const char c = text[pos];
          if (c == '"') {
            if (pos + 1 < n && text[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            break;
          }
          if (c == '\n' || (c == '\r' && (pos + 1 >= n || text[pos + 1] != '\n'))) ++line;
          field += c;
          ++pos;
        }
        while (pos < n && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
        if (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          throw InputError(name + ": row " + std::to_string(line) +
                           ": unexpected text after a closing quote");
      } else {
        const std::size_t end = text.find_first_of(",\r\n", pos);
        const std::size_t stop = end == std::string::npos ? n : end;
        field.assign(text, pos, stop - pos);
        pos = stop;
      }
      t.cells.push_back(field);
      if (pos < n && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < n && text[pos] == '\r') ++pos;
      if (pos < n && text[pos] == '\n') ++pos;
      ++line;
      break;
    }
    const bool blank =
        t.cells.size() - first_cell == 1 && !any_quoted && trim(t.cells.back()).empty();
    if (blank) {
      t.cells.pop_back();
      continue;
    }
    t.record_start.push_back(t.cells.size());
    t.record_line.push_back(record_line);
  }
  return t;
}

// True when the whole cell (spaces aside) is a number, including nan and inf,
// which the caller rejects with a clearer message than "not a number".
bool parse_number(std::string_view cell, double& value) {
  std::string_view s = trim(cell);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ptr != s.data() + s.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // Too small becomes 0, too large becomes infinite (and is then rejected).
    const auto e = s.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    const bool negative = s.front() == '-';
    value = tiny ? 0.0 : (negative ? -HUGE_VAL : HUGE_VAL);
    return true;
  }
  return ec == std::errc();
}

bool is_number(std::string_view cell) {
  double v;
  return parse_number(cell, v);
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join_names(const CsvTable& t) {
  std::string s;
  for (std::size_t j = 0; j < t.fields(0); ++j) {
    if (j) s += ", ";
    s += std::string(trim(t.cell(0, j)));
  }
  return s;
}

// A header is a first row whose feature cells are not all numbers. A header
// whose only word is the label's name ("1,2,3,label") is recognised when every
// later label is a number.
bool detect_header(const CsvTable& t, std::size_t label) {
  for (std::size_t j = 0; j < t.fields(0); ++j)
    if (j != label && !is_number(t.cell(0, j))) return true;
  if (is_number(t.cell(0, label)) || t.records() < 2) return false;
  for (std::size_t r = 1; r < t.records(); ++r)
    if (!is_number(t.cell(r, label))) return false;
  return true;
}

constexpr double kMaxClassId = 100000;

}  // namespace

Dataset load_csv(const SourceFile& file, const std::string& label_column) {
  const std::string& name = file.display;
  const CsvTable t = parse_csv(read_file(file), name);
  if (t.records() == 0) throw InputError(name + ": empty file: no rows");
  const std::size_t ncols = t.fields(0);
  const auto row = [&](std::size_t r) { return "row " + std::to_string(t.record_line[r]); };
  if (ncols < 2)
    throw InputError(name + ": " + row(0) +
                     " has 1 field; a dataset needs at least 2 columns (features and a label)");
  for (std::size_t r = 1; r < t.records(); ++r)
    if (t.fields(r) != ncols)
      throw InputError(name + ": " + row(r) + " has " + std::to_string(t.fields(r)) +
                       " fields, expected " + std::to_string(ncols));

  // Which column is the label, and is the first row a header?
  std::size_t label = ncols - 1;
  bool header = false;
  const std::string_view wanted = trim(label_column);
  if (wanted.empty()) {
    header = detect_header(t, label);
  } else if (all_digits(wanted)) {
    label = std::stoul(std::string(wanted));
    if (label >= ncols)
      throw InputError(name + ": dataset.label_column " + std::string(wanted) +
                       " is out of range: the file has " + std::to_string(ncols) +
                       " columns (0 to " + std::to_string(ncols - 1) + ")");
    header = detect_header(t, label);
  } else {
    std::size_t j = 0;
    while (j < ncols && trim(t.cell(0, j)) != wanted) ++j;
    if (j == ncols) {
      bool has_header = false;
      for (std::size_t k = 0; k < ncols; ++k) has_header |= !is_number(t.cell(0, k));
      if (!has_header)
        throw InputError(
            name + ": no column named '" + std::string(wanted) +
            "': the file has no header row (give dataset.label_column as a 0-based index)");
      throw InputError(name + ": no column named '" + std::string(wanted) +
                       "' (columns: " + join_names(t) + ")");
    }
    label = j;
    header = true;
  }
  const std::size_t first = header ? 1 : 0;
  if (t.records() <= first) throw InputError(name + ": no data rows after the header");

  const auto column = [&](std::size_t j) {
    const std::string_view title = header ? trim(t.cell(0, j)) : std::string_view();
    return title.empty() ? "column " + std::to_string(j) : "column '" + std::string(title) + "'";
  };
  const auto where = [&](std::size_t r, std::size_t j) {
    return name + ": " + row(r) + ", " + column(j) + ": ";
  };

  Dataset d;
  d.name = file.path.filename().string();
  const std::int64_t nfeat = std::int64_t(ncols) - 1;
  const std::size_t nrows = t.records() - first;
  d.sample_shape = {nfeat};
  d.features.resize(nrows * std::size_t(nfeat));

  // Features.
  float* out = d.features.data();
  for (std::size_t r = first; r < t.records(); ++r) {
    for (std::size_t j = 0; j < ncols; ++j) {
      if (j == label) continue;
      const std::string& cell = t.cell(r, j);
      double v;
      if (!parse_number(cell, v)) {
        if (trim(cell).empty()) throw InputError(where(r, j) + "empty cell, expected a number");
        throw InputError(where(r, j) + "'" + cell + "' is not a number");
      }
      if (!std::isfinite(v))
        throw InputError(where(r, j) + "value is not finite (" + std::string(trim(cell)) + ")");
      if (std::abs(v) > double(std::numeric_limits<float>::max()))
        throw InputError(where(r, j) + "value " + std::string(trim(cell)) +
                         " is too large for fp32");
      *out++ = float(v);
    }
  }

  // Labels: class ids, class names, or regression targets.
  std::vector<double> numbers(nrows);
  bool numeric = true;
  for (std::size_t i = 0; i < nrows && numeric; ++i) {
    const std::size_t r = first + i;
    if (trim(t.cell(r, label)).empty()) throw InputError(where(r, label) + "label is empty");
    numeric = parse_number(t.cell(r, label), numbers[i]);
  }
  d.target_dim = 1;
  d.targets.resize(nrows);
  if (numeric) {
    bool class_ids = true;
    double max_id = 0;
    for (std::size_t i = 0; i < nrows; ++i) {
      const double v = numbers[i];
      if (!std::isfinite(v) || std::abs(v) > double(std::numeric_limits<float>::max()))
        throw InputError(where(first + i, label) + "value is not finite in fp32 (" +
                         std::string(trim(t.cell(first + i, label))) + ")");
      class_ids = class_ids && v >= 0 && v < kMaxClassId && v == std::floor(v);
      max_id = std::max(max_id, v);
      d.targets[i] = float(v);
    }
    if (class_ids) {
      d.num_classes = int(max_id) + 1;
      for (int c = 0; c < d.num_classes; ++c) d.class_names.push_back(std::to_string(c));
    }
    return d;
  }
  std::vector<std::string> names;
  names.reserve(nrows);
  for (std::size_t r = first; r < t.records(); ++r) {
    const std::string_view cell = trim(t.cell(r, label));
    if (cell.empty()) throw InputError(where(r, label) + "label is empty");
    names.emplace_back(cell);
  }
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::size_t i = 0; i < nrows; ++i)
    d.targets[i] = float(std::lower_bound(sorted.begin(), sorted.end(), names[i]) - sorted.begin());
  d.num_classes = int(sorted.size());
  d.class_names = std::move(sorted);
  return d;
}

void match_validation_file(DatasetSplit& split, const std::string& validation_display) {
  Dataset& t = split.train;
  Dataset& v = split.validation;
  const std::string where = validation_display + ": ";
  if (v.sample_numel() != t.sample_numel())
    throw InputError(where + "has " + std::to_string(v.sample_numel()) +
                     " feature columns but the training file " + t.name + " has " +
                     std::to_string(t.sample_numel()));
  if ((v.num_classes == 0) != (t.num_classes == 0))
    throw InputError(where + (v.num_classes == 0 ? "has numeric (regression) labels"
                                                 : "has class labels") +
                     " but the training file " + t.name +
                     (t.num_classes == 0 ? " has numeric ones" : " has class labels"));
  if (t.num_classes == 0) return;
  const auto numbered = [](const Dataset& d) {
    for (int c = 0; c < d.num_classes; ++c)
      if (d.class_names[std::size_t(c)] != std::to_string(c)) return false;
    return true;
  };
  if (numbered(t) && numbered(v)) {  // class ids: both files count from 0
    if (v.num_classes > t.num_classes) t.class_names = v.class_names;
    t.num_classes = v.num_classes = std::max(t.num_classes, v.num_classes);
    v.class_names = t.class_names;
    return;
  }
  // Class names: each file numbers its own in sorted order; the validation
  // file's are renumbered as the training file numbers them.
  std::vector<float> to_train(std::size_t(v.num_classes), 0.0f);
  for (int c = 0; c < v.num_classes; ++c) {
    const std::string& name = v.class_names[std::size_t(c)];
    const auto at = std::find(t.class_names.begin(), t.class_names.end(), name);
    if (at == t.class_names.end())
      throw InputError(where + "class '" + name + "' does not occur in the training file " +
                       t.name);
    to_train[std::size_t(c)] = float(at - t.class_names.begin());
  }
  for (float& y : v.targets) y = to_train[std::size_t(y)];
  v.num_classes = t.num_classes;
  v.class_names = t.class_names;
}

}  // namespace mantissa::data

namespace mantissa {

Dataset load_csv(const std::filesystem::path& path, const std::string& label_column) {
  return data::load_csv(data::source_file(path), label_column);
}

}  // namespace mantissa
