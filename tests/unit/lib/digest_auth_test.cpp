#include "digest_auth.h"

#include <gtest/gtest.h>

#include <string>

namespace phonebus::http_auth {
namespace {

TEST(ParseChallenges, DigestWithEveryParameterKind) {
  auto parsed = ParseChallenges(
      R"(Digest realm="x", nonce="y", qop="auth,auth-int", algorithm=MD5, opaque="z", stale=FALSE)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  const auto& c = (*parsed)[0];
  EXPECT_EQ(c.scheme, "digest");
  EXPECT_EQ(c.params.at("realm"), "x");
  EXPECT_EQ(c.params.at("nonce"), "y");
  EXPECT_EQ(c.params.at("qop"), "auth,auth-int");
  EXPECT_EQ(c.params.at("algorithm"), "MD5");
  EXPECT_EQ(c.params.at("opaque"), "z");
  EXPECT_EQ(c.params.at("stale"), "FALSE");
  auto digest = ToDigestChallenge(c);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_TRUE(digest->qop_auth);
  EXPECT_TRUE(digest->qop_auth_int);
  EXPECT_FALSE(digest->stale);
  EXPECT_EQ(digest->opaque, "z");
  EXPECT_EQ(digest->algorithm, Algorithm::kMd5);
}

TEST(ParseChallenges, SeveralChallengesInOneValue) {
  auto parsed = ParseChallenges(
      R"(Basic realm="a, b", Digest REALM="r" , Nonce=abc,algorithm="sha-256", Newauth, Basic realm=x)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].scheme, "basic");
  EXPECT_EQ((*parsed)[0].params.at("realm"), "a, b");
  EXPECT_EQ((*parsed)[1].scheme, "digest");
  EXPECT_EQ((*parsed)[1].params.at("realm"), "r");
  EXPECT_EQ((*parsed)[1].params.at("nonce"), "abc");
  EXPECT_EQ((*parsed)[2].scheme, "newauth");
  EXPECT_TRUE((*parsed)[2].params.empty());
  EXPECT_EQ((*parsed)[3].params.at("realm"), "x");
  auto digest = ToDigestChallenge((*parsed)[1]);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->algorithm, Algorithm::kSha256);
  EXPECT_FALSE(digest->qop_auth);  // no qop: the legacy form
}

TEST(ParseChallenges, QuotedStringEscapesAndToken68) {
  auto parsed = ParseChallenges(R"(Digest realm="a \"quoted\" \\ realm", nonce="n")");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].params.at("realm"), R"(a "quoted" \ realm)");

  auto token68 = ParseChallenges("Negotiate abc+/def==, Basic realm=\"r\"");
  ASSERT_TRUE(token68.ok()) << token68.status();
  ASSERT_EQ(token68->size(), 2u);
  EXPECT_EQ((*token68)[0].token68, "abc+/def==");
  EXPECT_EQ((*token68)[1].scheme, "basic");
}

TEST(ParseChallenges, MalformedInputIsAnErrorNotACrash) {
  const std::string huge_quote = "Digest realm=\"" + std::string(10000, 'a');
  const std::string huge = "Digest realm=\"" + std::string(100000, 'a') + "\"";
  std::string many_commas(kMaxHeaderValueBytes, ',');
  for (const std::string& bad : {
           std::string(""),
           std::string("   "),
           std::string(",,,"),
           std::string("Digest realm=\"unterminated"),
           std::string("Digest realm=\"ends in backslash\\"),
           std::string("Digest nonce=\"n\", realm="),
           std::string("Digest realm=, nonce=x"),
           std::string("Digest =x"),
           std::string("Digest realm=\"x\" nonce=\"y\""),
           std::string("Digest realm=\"x\"garbage"),
           std::string("Digest realm=\"bad\r\nInjected: yes\""),
           std::string("Digest\trealm=\"x\", nonce="),
           std::string("\"Digest\""),
           std::string("Digest realm=x,, ,= y"),
           huge_quote,
           huge,
           many_commas,
       }) {
    auto parsed = ParseChallenges(bad);
    EXPECT_FALSE(parsed.ok()) << "accepted: " << bad.substr(0, 60);
  }
  // Binary noise: any answer is fine as long as it returns.
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 7919) & 0xff));
  (void)ParseChallenges(noise);
}

TEST(ParseChallenges, NameAndEqualsAloneIsAToken68NotADigestChallenge) {
  // RFC 7235's grammar reads "realm=" as a token68 (base64 padding).
  auto parsed = ParseChallenges("Digest realm=");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].token68, "realm=");
  EXPECT_FALSE(ToDigestChallenge((*parsed)[0]).ok());
}

TEST(ParseChallenges, TrailingAndEmptyListElementsAreAllowed) {
  auto parsed = ParseChallenges("Basic realm=\"r\", , Digest realm=\"d\", nonce=\"n\",");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size(), 2u);
}

TEST(ToDigestChallenge, RefusesWhatItCannotAnswer) {
  auto parse = [](const char* value) {
    auto c = ParseChallenges(value);
    EXPECT_TRUE(c.ok()) << c.status();
    return ToDigestChallenge((*c)[0]);
  };
  EXPECT_EQ(parse("Digest nonce=\"n\"").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1").status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(parse("Digest realm=\"r\", nonce=\"n\", qop=\"token\"").status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(parse("Basic realm=\"r\"").status().code(), absl::StatusCode::kInvalidArgument);
  auto stale = parse("Digest realm=\"r\", nonce=\"n\", qop=auth, stale=TRUE, userhash=true");
  ASSERT_TRUE(stale.ok());
  EXPECT_TRUE(stale->stale);
  EXPECT_TRUE(stale->userhash);
}

// RFC 2617 section 3.5.
TEST(DigestAuthorization, Rfc2617Mufasa) {
  DigestChallenge c;
  c.realm = "testrealm@host.com";
  c.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  c.opaque = "5ccc069c403ebaf9f0171e9517f40e41";
  c.qop_auth = true;
  c.qop_auth_int = true;
  auto value =
      DigestAuthorization(c, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", 1, "0a4f113b");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_NE(value->find("response=\"6629fae49393a05397450978507c4ef1\""), std::string::npos)
      << *value;
  EXPECT_NE(value->find("nc=00000001"), std::string::npos);
  EXPECT_NE(value->find("qop=auth,"), std::string::npos);
  EXPECT_NE(value->find("cnonce=\"0a4f113b\""), std::string::npos);
  EXPECT_NE(value->find("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""), std::string::npos);
  EXPECT_EQ(value->rfind("Digest username=\"Mufasa\"", 0), 0u);

  // The server side agrees with it, and with nothing else.
  auto auth = ParseAuthorization(*value);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->scheme, "digest");
  EXPECT_EQ(auth->username, "Mufasa");
  EXPECT_TRUE(VerifyDigest(auth->params, "GET", "Mufasa", "Circle Of Life").ok());
  EXPECT_EQ(VerifyDigest(auth->params, "GET", "Mufasa", "Circle of Life").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyDigest(auth->params, "GET", "Simba", "Circle Of Life").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyDigest(auth->params, "POST", "Mufasa", "Circle Of Life").code(),
            absl::StatusCode::kUnauthenticated);
}

// RFC 7616 section 3.9.1: the same answer in MD5 and SHA-256, parsed from the
// two challenges a server sends.
TEST(DigestAuthorization, Rfc7616Examples) {
  const char* kHeader =
      R"(Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256,
 nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
 opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org",
 qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
 opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")";
  // The header is written across lines for reading; on the wire it is one line.
  std::string one_line = kHeader;
  for (auto& ch : one_line) {
    if (ch == '\n') ch = ' ';
  }
  auto parsed = ParseChallenges(one_line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  const char* kCnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  const std::pair<Algorithm, const char*> expected[] = {
      {Algorithm::kSha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
      {Algorithm::kMd5, "8ca523f5e9506fed4657c9700eebdbec"},
  };
  for (size_t i = 0; i < 2; ++i) {
    auto c = ToDigestChallenge((*parsed)[i]);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->algorithm, expected[i].first);
    auto value =
        DigestAuthorization(*c, "GET", "/dir/index.html", "Mufasa", "Circle of Life", 1, kCnonce);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_NE(value->find(std::string("response=\"") + expected[i].second + "\""),
              std::string::npos)
        << *value;
    auto auth = ParseAuthorization(*value);
    ASSERT_TRUE(auth.ok()) << auth.status();
    EXPECT_TRUE(VerifyDigest(auth->params, "GET", "Mufasa", "Circle of Life").ok());
  }
}

TEST(DigestAuthorization, EveryAlgorithmAndQopRoundTrips) {
  for (auto algorithm :
       {Algorithm::kMd5, Algorithm::kMd5Sess, Algorithm::kSha256, Algorithm::kSha256Sess,
        Algorithm::kSha512_256, Algorithm::kSha512_256Sess}) {
    for (int qop = 0; qop < 3; ++qop) {
      DigestChallenge c;
      c.realm = "phone";
      c.nonce = MakeNonce();
      c.algorithm = algorithm;
      c.qop_auth = qop == 0;
      c.qop_auth_int = qop == 1;
      c.userhash = qop == 1;
      const bool sess = algorithm == Algorithm::kMd5Sess || algorithm == Algorithm::kSha256Sess ||
                        algorithm == Algorithm::kSha512_256Sess;
      // What the server sends parses back to the same challenge.
      auto reparsed = ParseChallenges(MakeDigestChallenge(c));
      ASSERT_TRUE(reparsed.ok()) << reparsed.status();
      auto typed = ToDigestChallenge((*reparsed)[0]);
      if (sess && qop == 2) {
        EXPECT_FALSE(typed.ok());  // -sess needs a cnonce, which the qop-less form lacks
        continue;
      }
      ASSERT_TRUE(typed.ok()) << typed.status();
      EXPECT_EQ(typed->algorithm, algorithm);
      EXPECT_EQ(typed->userhash, c.userhash);
      auto value =
          DigestAuthorization(*typed, "GET", "/servlet?key=OK", "admin", "p\"w:d", 7, MakeCnonce());
      ASSERT_TRUE(value.ok()) << value.status();
      auto auth = ParseAuthorization(*value);
      ASSERT_TRUE(auth.ok()) << auth.status();
      EXPECT_TRUE(VerifyDigest(auth->params, "GET", "admin", "p\"w:d").ok())
          << AlgorithmName(algorithm) << " qop " << qop << ": " << *value;
      EXPECT_FALSE(VerifyDigest(auth->params, "GET", "admin", "wrong").ok());
      if (qop != 2) {
        EXPECT_EQ(auth->params.at("nc"), "00000007");
      } else {
        EXPECT_EQ(auth->params.count("nc"), 0u);
      }
    }
  }
}

TEST(Basic, RoundTrip) {
  EXPECT_EQ(BasicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  auto auth = ParseAuthorization("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->scheme, "basic");
  EXPECT_EQ(auth->username, "Aladdin");
  EXPECT_EQ(auth->password, "open sesame");
  auto colon = ParseAuthorization(BasicAuthorization("u", "a:b"));
  ASSERT_TRUE(colon.ok());
  EXPECT_EQ(colon->password, "a:b");
  EXPECT_FALSE(ParseAuthorization("Basic !!!").ok());
  EXPECT_FALSE(ParseAuthorization("Basic").ok());
  EXPECT_FALSE(ParseAuthorization("Basic bm9jb2xvbg==").ok());  // "nocolon"
  EXPECT_FALSE(ParseAuthorization("Basic a, Basic b").ok());
  EXPECT_EQ(MakeBasicChallenge("phone"), "Basic realm=\"phone\", charset=\"UTF-8\"");
}

TEST(VerifyDigest, MissingOrMalformedParametersAreInvalid) {
  Params params{{"username", "u"}, {"realm", "r"}, {"nonce", "n"}, {"uri", "/"}};
  EXPECT_EQ(VerifyDigest(params, "GET", "u", "p").code(), absl::StatusCode::kInvalidArgument);
  params["response"] = "00";
  params["qop"] = "auth";
  EXPECT_EQ(VerifyDigest(params, "GET", "u", "p").code(), absl::StatusCode::kInvalidArgument);
  params["nc"] = "zz";
  params["cnonce"] = "c";
  EXPECT_EQ(VerifyDigest(params, "GET", "u", "p").code(), absl::StatusCode::kInvalidArgument);
  params["nc"] = "00000001";
  EXPECT_EQ(VerifyDigest(params, "GET", "u", "p").code(), absl::StatusCode::kUnauthenticated);
  params["algorithm"] = "SHA-1";
  EXPECT_EQ(VerifyDigest(params, "GET", "u", "p").code(), absl::StatusCode::kInvalidArgument);
}

TEST(Nonces, AreRandomHex) {
  const auto a = MakeCnonce();
  const auto b = MakeCnonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace phonebus::http_auth
