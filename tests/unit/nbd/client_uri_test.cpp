// parse_nbd_uri() and NbdUri::to_string(): the accepted forms, percent
// decoding, and a clear message for everything refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "nbd/client/uri.hpp"

namespace {

using nbd::NbdUri;
using nbd::parse_nbd_uri;
using ::testing::HasSubstr;

NbdUri parse_ok(const std::string& text) {
  NbdUri uri;
  std::string error;
  EXPECT_TRUE(parse_nbd_uri(text, &uri, &error)) << text << ": " << error;
  return uri;
}

std::string parse_error(const std::string& text) {
  NbdUri uri{"untouched", "untouched"};
  std::string error;
  EXPECT_FALSE(parse_nbd_uri(text, &uri, &error)) << text;
  EXPECT_EQ(uri, (NbdUri{"untouched", "untouched"})) << "output changed on failure";
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
  return error;
}

TEST(ClientUriTest, ExportAndSocket) {
  EXPECT_EQ(parse_ok("nbd+unix:///disk?socket=/run/corobd.sock"),
            (NbdUri{"disk", "/run/corobd.sock"}));
}

TEST(ClientUriTest, DefaultExportForms) {
  const NbdUri expected{"", "/tmp/s"};
  EXPECT_EQ(parse_ok("nbd+unix:///?socket=/tmp/s"), expected);
  EXPECT_EQ(parse_ok("nbd+unix://?socket=/tmp/s"), expected);
}

TEST(ClientUriTest, SchemeIsCaseInsensitive) {
  EXPECT_EQ(parse_ok("NBD+UNIX:///x?socket=s"), (NbdUri{"x", "s"}));
}

TEST(ClientUriTest, ExportNameKeepsSlashesAndIsPercentDecoded) {
  EXPECT_EQ(parse_ok("nbd+unix:///a/b/c?socket=s").export_name, "a/b/c");
  EXPECT_EQ(parse_ok("nbd+unix:///my%20disk%2Fone?socket=s").export_name, "my disk/one");
  EXPECT_EQ(parse_ok("nbd+unix:///a+b?socket=s").export_name, "a+b");  // '+' is not a space
  EXPECT_EQ(parse_ok("nbd+unix:////leading?socket=s").export_name, "/leading");
  EXPECT_EQ(parse_ok("nbd+unix:///%e2%82%AC?socket=s").export_name, "\xe2\x82\xac");
}

TEST(ClientUriTest, SocketIsPercentDecodedAndRelativePathsWork) {
  EXPECT_EQ(parse_ok("nbd+unix:///x?socket=/tmp/a%26b%3Dc.sock").socket_path, "/tmp/a&b=c.sock");
  EXPECT_EQ(parse_ok("nbd+unix:///x?socket=rel.sock").socket_path, "rel.sock");
}

TEST(ClientUriTest, EmptyQueryParametersAreSkipped) {
  EXPECT_EQ(parse_ok("nbd+unix:///x?&socket=s&").socket_path, "s");
}

TEST(ClientUriTest, NullErrorPointerIsAllowed) {
  NbdUri uri;
  EXPECT_FALSE(parse_nbd_uri("nbd://host/x", &uri));
  EXPECT_TRUE(parse_nbd_uri("nbd+unix:///x?socket=s", &uri));
}

TEST(ClientUriTest, OtherTransportsAreRefusedByName) {
  EXPECT_THAT(parse_error("nbd://localhost/disk"), HasSubstr("TCP"));
  EXPECT_THAT(parse_error("nbds://localhost/disk"), HasSubstr("TCP"));
  EXPECT_THAT(parse_error("nbds+unix:///disk?socket=s"), HasSubstr("TLS"));
  EXPECT_THAT(parse_error("nbd+vsock://1:10809/disk"), HasSubstr("vsock"));
  EXPECT_THAT(parse_error("http://example.com/"), HasSubstr("unknown URI scheme 'http'"));
}

TEST(ClientUriTest, NotAUri) {
  EXPECT_THAT(parse_error("/run/corobd.sock"), HasSubstr("not an NBD URI"));
  EXPECT_THAT(parse_error(""), HasSubstr("not an NBD URI"));
  EXPECT_THAT(parse_error(":x"), HasSubstr("not an NBD URI"));
}

TEST(ClientUriTest, MissingSlashes) {
  EXPECT_THAT(parse_error("nbd+unix:/disk?socket=s"), HasSubstr("'//'"));
}

TEST(ClientUriTest, HostIsRefused) {
  EXPECT_THAT(parse_error("nbd+unix://localhost/disk?socket=s"), HasSubstr("no host"));
  EXPECT_THAT(parse_error("nbd+unix://user@/disk?socket=s"), HasSubstr("no host"));
}

TEST(ClientUriTest, SocketMissingEmptyOrTwice) {
  EXPECT_THAT(parse_error("nbd+unix:///disk"), HasSubstr("missing ?socket=PATH"));
  EXPECT_THAT(parse_error("nbd+unix:///disk?"), HasSubstr("missing ?socket=PATH"));
  EXPECT_THAT(parse_error("nbd+unix:///disk?socket="), HasSubstr("socket= is empty"));
  EXPECT_THAT(parse_error("nbd+unix:///disk?socket"), HasSubstr("no value"));
  EXPECT_THAT(parse_error("nbd+unix:///disk?socket=a&socket=b"), HasSubstr("twice"));
}

TEST(ClientUriTest, UnknownQueryParameterIsNamed) {
  EXPECT_THAT(parse_error("nbd+unix:///disk?socket=s&tls=on"),
              HasSubstr("unknown query parameter 'tls'"));
}

TEST(ClientUriTest, FragmentIsRefused) {
  EXPECT_THAT(parse_error("nbd+unix:///disk?socket=s#frag"), HasSubstr("fragment"));
}

TEST(ClientUriTest, BadPercentEscapes) {
  EXPECT_THAT(parse_error("nbd+unix:///a%zz?socket=s"), HasSubstr("bad percent escape '%zz'"));
  EXPECT_THAT(parse_error("nbd+unix:///a%4?socket=s"), HasSubstr("bad percent escape"));
  EXPECT_THAT(parse_error("nbd+unix:///a?socket=s%"), HasSubstr("socket path"));
}

TEST(ClientUriTest, NulAndControlCharactersAreRefused) {
  EXPECT_THAT(parse_error("nbd+unix:///a%00b?socket=s"), HasSubstr("NUL"));
  EXPECT_THAT(parse_error("nbd+unix:///a?socket=s%00"), HasSubstr("NUL"));
  EXPECT_THAT(parse_error(std::string("nbd+unix:///a\tb?socket=s")), HasSubstr("control"));
}

TEST(ClientUriTest, ExportNameLengthLimit) {
  const std::string max(4096, 'e');
  EXPECT_EQ(parse_ok("nbd+unix:///" + max + "?socket=s").export_name, max);
  EXPECT_THAT(parse_error("nbd+unix:///" + max + "e?socket=s"), HasSubstr("4097 bytes"));
}

TEST(ClientUriTest, SocketPathMustFitSockaddrUn) {
  const std::string fits(107, 's');
  EXPECT_EQ(parse_ok("nbd+unix:///x?socket=" + fits).socket_path, fits);
  EXPECT_THAT(parse_error("nbd+unix:///x?socket=" + fits + "s"), HasSubstr("at most 107"));
}

TEST(ClientUriTest, ToStringRoundTrips) {
  const NbdUri cases[] = {
      {"disk", "/run/corobd.sock"},
      {"", "/tmp/s"},
      {"a b/c&d=e?f#g%h", "/tmp/dir with space/x&y=z.sock"},
      {"/leading", "s"},
      {"\xe2\x82\xac", "s"},
  };
  for (const NbdUri& uri : cases) {
    const std::string text = uri.to_string();
    EXPECT_EQ(parse_ok(text), uri) << text;
  }
  EXPECT_EQ((NbdUri{"disk", "/run/s.sock"}).to_string(), "nbd+unix:///disk?socket=/run/s.sock");
  EXPECT_EQ((NbdUri{"a b", "s"}).to_string(), "nbd+unix:///a%20b?socket=s");
}

}  // namespace
