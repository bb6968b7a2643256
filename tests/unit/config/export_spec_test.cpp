// Tests of the SPEC parser (config/export_spec.hpp).
#include "config/export_spec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace config {
namespace {

ExportSpec ok(const std::string& spec) {
  auto r = parse_export_spec(spec);
  EXPECT_TRUE(r) << spec << ": " << r.error;
  return r ? *r.value : ExportSpec{};
}

std::string err(const std::string& spec) {
  auto r = parse_export_spec(spec);
  EXPECT_FALSE(r) << spec;
  return r.error;
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST(ExportSpec, MinimalRawHasDefaults) {
  ExportSpec e = ok("name=disk,file=/srv/disk.img");
  EXPECT_EQ(e.name, "disk");
  EXPECT_EQ(e.file, "/srv/disk.img");
  EXPECT_EQ(e.format, ExportFormat::raw);
  EXPECT_FALSE(e.size.has_value());
  EXPECT_FALSE(e.readonly);
  EXPECT_EQ(e.cache, CacheMode::writeback);
  EXPECT_FALSE(e.create);
  EXPECT_EQ(e.description, "");
  EXPECT_FALSE(e.is_default);
}

TEST(ExportSpec, EveryKey) {
  ExportSpec e = ok(
      "name=d,file=/srv/d.img,format=raw,size=1G,readonly=on,cache=none,create=on,description=My disk,default=on");
  EXPECT_EQ(e.name, "d");
  EXPECT_EQ(e.file, "/srv/d.img");
  EXPECT_EQ(e.format, ExportFormat::raw);
  EXPECT_EQ(e.size, 1ULL << 30);
  EXPECT_TRUE(e.readonly);
  EXPECT_EQ(e.cache, CacheMode::none);
  EXPECT_TRUE(e.create);
  EXPECT_EQ(e.description, "My disk");
  EXPECT_TRUE(e.is_default);

  // Order does not matter; off values.
  ExportSpec f = ok("default=off,cache=unsafe,readonly=off,create=off,file=rel/x.img,name=x");
  EXPECT_EQ(f.cache, CacheMode::unsafe);
  EXPECT_FALSE(f.readonly);
  EXPECT_FALSE(f.create);
  EXPECT_FALSE(f.is_default);
  EXPECT_EQ(f.file, "rel/x.img");  // made absolute later, by parse_config
  EXPECT_EQ(ok("name=x,file=/x,cache=writeback").cache, CacheMode::writeback);
}

TEST(ExportSpec, NullFormat) {
  ExportSpec e = ok("name=zero,format=null,size=4k");
  EXPECT_EQ(e.format, ExportFormat::null);
  EXPECT_EQ(e.size, 4096U);
  EXPECT_EQ(e.file, "");
  EXPECT_TRUE(ok("name=zero,format=null,size=1M,readonly=on").readonly);
}

TEST(ExportSpec, EscapedCommasAndBackslashes) {
  EXPECT_EQ(ok(R"(name=d,file=/x,description=big\, fast disk)").description, "big, fast disk");
  EXPECT_EQ(ok(R"(name=d,file=/x,description=a\\b)").description, R"(a\b)");
  EXPECT_EQ(ok(R"(name=d,file=/x,description=a\\\,b)").description, R"(a\,b)");
  EXPECT_EQ(ok(R"(name=a\,b,file=/x)").name, "a,b");
  EXPECT_EQ(ok(R"(name=d,file=/srv/a\,b.img)").file, "/srv/a,b.img");
  // '=' inside a value is plain text; so is anything but ',' and '\'.
  EXPECT_EQ(ok("name=d,file=/x,description=k=v; \"quoted\" #1").description, "k=v; \"quoted\" #1");
  EXPECT_EQ(ok("name=d,file=/a=b").file, "/a=b");
  EXPECT_EQ(ok("name=d,file=/x,description=").description, "");
}

TEST(ExportSpec, Equality) {
  EXPECT_EQ(ok("name=d,file=/x"), ok("file=/x,name=d"));
  EXPECT_NE(ok("name=d,file=/x"), ok("name=d,file=/y"));
}

TEST(ExportSpec, SyntaxErrors) {
  EXPECT_HAS(err(""), "empty");
  EXPECT_HAS(err("name=d,,file=/x"), "'name=d,,file=/x': empty item (stray comma?)");
  EXPECT_HAS(err("name=d,file=/x,"), "empty item (stray comma?)");
  EXPECT_HAS(err(",name=d,file=/x"), "empty item");
  EXPECT_HAS(err("name=d,file=/x,readonly"), "'readonly' is not KEY=VALUE");
  EXPECT_HAS(err("disk"), "'disk': 'disk' is not KEY=VALUE");
  EXPECT_HAS(err(R"(name=d,file=/x,description=a\b)"), "bad escape");
  EXPECT_HAS(err(R"(name=d,file=C:\x)"), R"(write a backslash as "\\")");
  EXPECT_HAS(err(R"(name=d,file=/x\)"), "bad escape");
  EXPECT_HAS(err(R"(na\,me=d,file=/x)"), "key 'na,me' contains an escape");
  EXPECT_HAS(err("=d,name=d,file=/x"), "'d': empty key");
}

TEST(ExportSpec, KeyErrorsNameTheExportAndTheKey) {
  EXPECT_HAS(err("name=d,file=/x,colour=red"), "'d': unknown key 'colour' (known: name, file, format");
  EXPECT_HAS(err("name=d,file=/x,Name=e"), "unknown key 'Name'");
  EXPECT_HAS(err("name=d,file=/x,file=/y"), "'d': file: given twice");
  EXPECT_HAS(err("name=d,name=e,file=/x"), "'d': name: given twice");
  EXPECT_HAS(err("name=d,file="), "'d': file: empty value");
  EXPECT_HAS(err("name=,file=/x"), "name: empty value");
  EXPECT_HAS(err("name=d,file=/x,format=qcow2"), "'d': format: 'qcow2' is not a format (expected raw or null)");
  EXPECT_HAS(err("name=d,file=/x,create=on,size=1.5G"), "'d': size: '1.5G' is not a size");
  EXPECT_HAS(err("name=d,file=/x,create=on,size=0"), "'d': size: '0' is zero");
  EXPECT_HAS(err("name=d,file=/x,readonly=yes"), "'d': readonly: 'yes' is not on or off");
  EXPECT_HAS(err("name=d,file=/x,create=true"), "'d': create: 'true' is not on or off");
  EXPECT_HAS(err("name=d,file=/x,default=1"), "'d': default: '1' is not on or off");
  EXPECT_HAS(err("name=d,file=/x,cache=directsync"),
             "'d': cache: 'directsync' is not a cache mode (expected writeback, none or unsafe)");
  EXPECT_HAS(err("name=d\x01,file=/x"), "name: contains a control character");
  EXPECT_HAS(err("name=d,file=/x,description=a\nb"), "description: contains a control character");
  EXPECT_HAS(err("name=" + std::string(4097, 'n') + ",file=/x"), "name: longer than 4096 bytes");
  EXPECT_HAS(err("name=d,file=/x,description=" + std::string(4097, 'n')), "description: longer than 4096 bytes");
  EXPECT_TRUE(parse_export_spec("name=" + std::string(4096, 'n') + ",file=/x"));
}

TEST(ExportSpec, MissingAndInconsistentKeys) {
  EXPECT_HAS(err("file=/x"), "'file=/x': name: missing (every export needs name=NAME)");
  EXPECT_HAS(err("name=d"), "'d': file: missing (format=raw needs file=PATH)");
  EXPECT_HAS(err("name=d,format=raw"), "file: missing");
  EXPECT_HAS(err("name=d,file=/x,size=1G"), "'d': size: only allowed with create=on or format=null");
  EXPECT_HAS(err("name=d,file=/x,create=on"), "'d': size: missing (create=on needs size=BYTES)");
  EXPECT_HAS(err("name=z,format=null"), "'z': size: missing (format=null needs size=BYTES)");
  EXPECT_HAS(err("name=z,format=null,size=1,file=/x"), "'z': file: not allowed with format=null");
  EXPECT_HAS(err("name=z,format=null,size=1,create=on"), "'z': create: not allowed with format=null");
  EXPECT_HAS(err("name=z,format=null,size=1,create=off"), "'z': create: not allowed with format=null");
}

TEST(ExportSpec, ToString) {
  EXPECT_EQ(to_string(ExportFormat::raw), "raw");
  EXPECT_EQ(to_string(ExportFormat::null), "null");
  EXPECT_EQ(to_string(CacheMode::writeback), "writeback");
  EXPECT_EQ(to_string(CacheMode::none), "none");
  EXPECT_EQ(to_string(CacheMode::unsafe), "unsafe");
}

}  // namespace
}  // namespace config
