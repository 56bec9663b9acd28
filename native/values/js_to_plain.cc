#include "values/js_to_plain.h"

#include <cmath>
#include <string>

namespace py_outliers {
namespace {

class ArgumentReader {
 public:
  ArgumentReader(Napi::Env env, PlainTree* tree) : env_(env), tree_(tree) {}

  void Positional(napi_value args) {
    uint32_t count = 0;
    Check(napi_get_array_length(env_, args, &count));
    Push({PlainNode::Kind::kList}).index = count;
    path_.push_back(Step::Name("args"));
    Items(args, count, 1);
    path_.pop_back();
  }

  void Keywords(napi_value kwargs) {
    napi_valuetype type = napi_undefined;
    Check(napi_typeof(env_, kwargs, &type));
    if (type == napi_undefined || type == napi_null) {
      Push({PlainNode::Kind::kDict}).index = 0;
      return;
    }
    path_.push_back(Step::Name("kwargs"));
    if (type != napi_object || !IsPlainObject(kwargs)) Fail("must be a plain object");
    Object(kwargs, 1, /*top=*/true);
    path_.pop_back();
  }

 private:
  // ---- one value ----------------------------------------------------------------------------

  void Value(napi_value value, int depth) {
    if (depth > kMaxDepth) {
      Fail(std::string("is nested deeper than ") + std::to_string(kMaxDepth) +
           " levels (does it hold itself?)");
    }
    napi_valuetype type = napi_undefined;
    Check(napi_typeof(env_, value, &type));
    switch (type) {
      case napi_undefined:
      case napi_null:
        Push({PlainNode::Kind::kNone});
        return;
      case napi_boolean: {
        PlainNode& node = Push({PlainNode::Kind::kBool});
        Check(napi_get_value_bool(env_, value, &node.boolean));
        return;
      }
      case napi_number: {
        double number = 0;
        Check(napi_get_value_double(env_, value, &number));
        // A safe integer is an int (random_state=0, axis=1 and n_estimators=100 must be);
        // anything else, NaN and the infinities included, a float.
        if (std::trunc(number) == number &&
            std::fabs(number) <= static_cast<double>(kMaxSafeInteger)) {
          Push({PlainNode::Kind::kInt}).integer = static_cast<int64_t>(number);
        } else {
          Push({PlainNode::Kind::kFloat}).number = number;
        }
        return;
      }
      case napi_bigint:
        BigInt(value);
        return;
      case napi_string:
        String(value);
        return;
      case napi_object:
        ObjectValue(value, depth);
        return;
      default:
        Fail(std::string("cannot be passed to Python: a ") +
             (type == napi_function ? "function"
              : type == napi_symbol ? "symbol"
                                    : "external") +
             " has no Python counterpart");
    }
  }

  void BigInt(napi_value value) {
    int64_t small = 0;
    bool lossless = false;
    Check(napi_get_value_bigint_int64(env_, value, &small, &lossless));
    if (lossless) {
      Push({PlainNode::Kind::kInt}).integer = small;
      return;
    }
    PlainBigInt big;
    size_t count = 0;
    int sign = 0;
    Check(napi_get_value_bigint_words(env_, value, nullptr, &count, nullptr));
    big.words.resize(count);
    Check(napi_get_value_bigint_words(env_, value, &sign, &count, big.words.data()));
    big.negative = sign != 0;
    Push({PlainNode::Kind::kBigInt}).index = tree_->bigints.size();
    tree_->bigints.push_back(std::move(big));
  }

  void ObjectValue(napi_value value, int depth) {
    bool is = false;
    Check(napi_is_typedarray(env_, value, &is));
    if (is) {
      TypedArray(value, nullptr);
      return;
    }
    Check(napi_is_array(env_, value, &is));
    if (is) {
      uint32_t count = 0;
      Check(napi_get_array_length(env_, value, &count));
      Push({PlainNode::Kind::kList}).index = count;
      Items(value, count, depth + 1);
      return;
    }
    if (IsPlainObject(value)) {
      Object(value, depth, /*top=*/false);
      return;
    }
    Check(napi_is_arraybuffer(env_, value, &is));
    if (is) Fail("is an ArrayBuffer: pass a typed array over it (new Uint8Array(buffer))");
    Fail("cannot be passed to Python: a " + ConstructorName(value) +
         " is none of: typed array, { data, shape }, number, bigint, boolean, string, null, "
         "undefined, array, plain object");
  }

  // A plain object: a dict, or `{ data, shape }`, an N-dimensional array.
  void Object(napi_value object, int depth, bool top) {
    napi_value keys = nullptr;
    Check(napi_get_all_property_names(
        env_, object, napi_key_own_only,
        static_cast<napi_key_filter>(napi_key_enumerable | napi_key_skip_symbols),
        napi_key_numbers_to_strings, &keys));
    uint32_t count = 0;
    Check(napi_get_array_length(env_, keys, &count));
    if (!top && count == 2 && HasDataAndShape(keys) && NdArray(object)) return;
    Push({PlainNode::Kind::kDict}).index = count;
    for (uint32_t i = 0; i < count; i++) {
      napi_value key = nullptr, item = nullptr;
      Check(napi_get_element(env_, keys, i, &key));
      // The key first: the value's getter may delete the property, not un-count it.
      String(key);
      Check(napi_get_property(env_, object, key, &item));
      path_.push_back(Step::Key(key));
      Value(item, depth + 1);
      path_.pop_back();
    }
  }

  // `count` elements of an array. A hole reads as undefined, and becomes None as undefined
  // does (docs/values.md, "Arrays in: views, pinned as they are read").
  void Items(napi_value array, uint32_t count, int depth) {
    path_.push_back(Step::Index(0));
    for (uint32_t i = 0; i < count; i++) {
      napi_value item = nullptr;
      path_.back().index = i;
      Check(napi_get_element(env_, array, i, &item));
      Value(item, depth);
    }
    path_.pop_back();
  }

  void String(napi_value value) {
    Push({PlainNode::Kind::kString}).index = tree_->strings.size();
    tree_->strings.emplace_back();
    Check(JsToPlainString(env_, value, &tree_->strings.back()));
  }

  // Whether two keys are "data" and "shape", in either order.
  bool HasDataAndShape(napi_value keys) {
    napi_value first = nullptr, second = nullptr;
    Check(napi_get_element(env_, keys, 0, &first));
    Check(napi_get_element(env_, keys, 1, &second));
    const std::string a = Utf8(first), b = Utf8(second);
    return (a == "data" && b == "shape") || (a == "shape" && b == "data");
  }

  // `{ data, shape }` with `data` a typed array: an array of that shape. False (nothing
  // pushed) if the object is not of that form, and it is then a dict.
  bool NdArray(napi_value object) {
    napi_value data = nullptr, shape = nullptr;
    Check(napi_get_named_property(env_, object, "data", &data));
    bool is = false;
    Check(napi_is_typedarray(env_, data, &is));
    if (!is) return false;
    Check(napi_get_named_property(env_, object, "shape", &shape));
    path_.push_back(Step::Name(".shape"));
    Check(napi_is_array(env_, shape, &is));
    if (!is) Fail("must be an array of dimensions");
    uint32_t ndim = 0;
    Check(napi_get_array_length(env_, shape, &ndim));
    if (ndim > static_cast<uint32_t>(kMaxDims)) {
      Fail(std::string("has ") + std::to_string(ndim) + " dimensions; at most " +
           std::to_string(kMaxDims));
    }
    std::vector<int64_t> dims(ndim);
    for (uint32_t i = 0; i < ndim; i++) {
      napi_value dim = nullptr;
      napi_valuetype type = napi_undefined;
      double value = -1;
      Check(napi_get_element(env_, shape, i, &dim));
      Check(napi_typeof(env_, dim, &type));
      if (type == napi_number) Check(napi_get_value_double(env_, dim, &value));
      if (type != napi_number || std::trunc(value) != value || value < 0 ||
          value > static_cast<double>(kMaxSafeInteger)) {
        Fail(std::string("[") + std::to_string(i) + "] must be a whole number >= 0");
      }
      dims[i] = static_cast<int64_t>(value);
    }
    path_.back() = Step::Name(".data");
    TypedArray(data, &dims);
    path_.pop_back();
    return true;
  }

  // `shape`: the dimensions given with it (checked to fit here), or null for 1-D.
  void TypedArray(napi_value value, const std::vector<int64_t>* shape) {
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void* data = nullptr;
    napi_value buffer = nullptr;
    Check(napi_get_typedarray_info(env_, value, &type, &length, &data, &buffer, nullptr));
    // A detached buffer shows as length 0, so only an empty array needs the check.
    if (length == 0) {
      bool detached = false;
      Check(napi_is_detached_arraybuffer(env_, buffer, &detached));
      if (detached) Fail("'s ArrayBuffer is detached");
    }
    // Pinned now, sync or async: the pin is also what tells whether JS could shrink the memory
    // under Python's view (a resizable ArrayBuffer), which is refused.
    BufferPin pin = BufferPin::Of(value);
    if (pin.shrinkable()) {
      Fail(
          "is over a resizable ArrayBuffer, which could shrink while Python reads it: pass a "
          "copy (.slice())");
    }
    const size_t size = ElementSize(type);
    if (size == 0) Fail("is a typed array of a kind this build does not know");

    PlainArray array;
    array.type = type;
    if (shape != nullptr) {
      const ShapeFit fit = FitShape(shape->data(), shape->size(), size, length);
      if (fit != ShapeFit::kFits) {
        std::string dims;
        for (size_t i = 0; i < shape->size(); i++) {
          dims += (i ? ", " : "") + std::to_string((*shape)[i]);
        }
        path_.pop_back();  // the object, not its .data
        Fail("has shape [" + dims + "], which " +
             (fit == ShapeFit::kTooBig
                  ? "is too big for numpy (the product of its non-zero dimensions times " +
                        std::to_string(size) + " bytes passes 2^63-1)"
                  : std::string("does not fit its ") + std::to_string(length) + " elements"));
      }
      array.shape = *shape;
      array.nd = true;
    } else {
      array.shape = {static_cast<int64_t>(length)};
    }
    array.data = data;
    array.byte_length = length * size;
    array.pin = std::move(pin);
    Push({PlainNode::Kind::kArray}).index = tree_->arrays.size();
    tree_->arrays.push_back(std::move(array));
  }

  // ---- helpers ------------------------------------------------------------------------------

  bool IsPlainObject(napi_value value) {
    napi_value proto = nullptr;
    Check(napi_get_prototype(env_, value, &proto));
    napi_valuetype type = napi_undefined;
    Check(napi_typeof(env_, proto, &type));
    if (type == napi_null) return true;  // Object.create(null)
    if (object_prototype_ == nullptr) {
      napi_value global = nullptr, object = nullptr;
      Check(napi_get_global(env_, &global));
      Check(napi_get_named_property(env_, global, "Object", &object));
      Check(napi_get_named_property(env_, object, "prototype", &object_prototype_));
    }
    bool same = false;
    Check(napi_strict_equals(env_, proto, object_prototype_, &same));
    return same;
  }

  std::string ConstructorName(napi_value value) {
    napi_value ctor = nullptr, name = nullptr;
    napi_valuetype type = napi_undefined;
    if (napi_get_named_property(env_, value, "constructor", &ctor) == napi_ok &&
        napi_typeof(env_, ctor, &type) == napi_ok && type == napi_function &&
        napi_get_named_property(env_, ctor, "name", &name) == napi_ok &&
        napi_typeof(env_, name, &type) == napi_ok && type == napi_string) {
      std::string text = Utf8(name);
      if (!text.empty()) return text;
    }
    return "object";
  }

  // For messages only: a lone surrogate may show as U+FFFD.
  std::string Utf8(napi_value string) {
    size_t length = 0;
    Check(napi_get_value_string_utf8(env_, string, nullptr, 0, &length));
    std::string out(length, '\0');
    Check(napi_get_value_string_utf8(env_, string, out.data(), length + 1, &length));
    return out;
  }

  PlainNode& Push(PlainNode node) {
    tree_->nodes.push_back(node);
    return tree_->nodes.back();
  }

  // A JS exception is pending (a getter threw, a Proxy trap): let it propagate as is.
  void Check(napi_status status) {
    if (status != napi_ok) throw Napi::Error::New(env_);
  }

  [[noreturn]] void Fail(const std::string& what) {
    const bool joined = !what.empty() && (what[0] == '\'' || what[0] == '[');
    throw Napi::TypeError::New(env_, Where() + (joined ? "" : " ") + what);
  }

  // Where the value being read is, as the message says it: "args[1]", "kwargs.height[0]".
  // Built only for a message: a per-element string made reading a large array several
  // times slower.
  struct Step {
    const char* name = nullptr;  // "args", "kwargs", ".shape", ".data"
    napi_value key = nullptr;    // an object's property
    uint32_t index = 0;          // else an array's element
    static Step Name(const char* name) { return {name, nullptr, 0}; }
    static Step Key(napi_value key) { return {nullptr, key, 0}; }
    static Step Index(uint32_t index) { return {nullptr, nullptr, index}; }
  };
  std::string Where() {
    std::string where;
    for (const Step& step : path_) {
      if (step.name != nullptr) {
        where += step.name;
      } else if (step.key != nullptr) {
        where += ".";
        where += Utf8(step.key);
      } else {
        where += "[";
        where += std::to_string(step.index);
        where += "]";
      }
    }
    return where;
  }

  Napi::Env env_;
  PlainTree* tree_;
  napi_value object_prototype_ = nullptr;
  std::vector<Step> path_;
};

}  // namespace

void ArgumentsToPlain(Napi::Env env, napi_value args, napi_value kwargs, PlainTree* tree) {
  ArgumentReader reader(env, tree);
  reader.Positional(args);
  reader.Keywords(kwargs);
}

}  // namespace py_outliers
