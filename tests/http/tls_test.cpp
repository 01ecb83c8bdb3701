// HTTPS against a real `ordersd serve --tls-cert ... --tls-key ...`: throwaway
// CAs and certificates made with the openssl CLI in a temporary directory,
// requests made by curl. Covers verification against the right and a wrong
// CA, the protocol versions, plain HTTP on the TLS port, the handshake
// deadline, client certificates, reloading on SIGHUP and bad files.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/eventually.h"
#include "support/process.h"
#include "support/raw_socket.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using ordersd::test::RawSocket;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using ordersd::test::eventually;

namespace {

const std::string kBinary = ORDERSD_BINARY;

// Extensions for the CAs and the leaf certificates, and what `openssl req`
// needs to run without the system's configuration.
const char* kOpensslConfig = R"(
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
)";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE_MESSAGE(out.good(), "cannot write " << path);
}

// Throwaway certificates in a temporary directory: NAME.pem and NAME.key.
class Certs {
 public:
  Certs() { write_file(config(), kOpensslConfig); }

  // A self-signed CA.
  void ca(const std::string& name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key(name),
             "-out", pem(name), "-days", "2", "-subj", "/CN=ordersd test " + name, "-config", config(), "-extensions",
             "ca"});
  }

  // A certificate signed by `ca`: `kind` "server" (for localhost and
  // 127.0.0.1) or "client".
  void leaf(const std::string& name, const std::string& ca, const std::string& kind) {
    std::string csr = dir_.sub(name + ".csr");
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key(name),
             "-out", csr, "-subj", kind == "server" ? "/CN=localhost" : "/CN=ordersd test client " + name, "-config",
             config()});
    openssl({"x509", "-req", "-in", csr, "-CA", pem(ca), "-CAkey", key(ca), "-set_serial",
             std::to_string(++serial_), "-days", "2", "-out", pem(name), "-extfile", config(), "-extensions", kind});
  }

  std::string pem(const std::string& name) const { return dir_.sub(name + ".pem"); }
  std::string key(const std::string& name) const { return dir_.sub(name + ".key"); }
  std::string path(const std::string& file) const { return dir_.sub(file); }

 private:
  std::string config() const { return dir_.sub("openssl.cnf"); }

  static void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), OPENSSL_CLI);
    auto done = ordersd::test::run(args);
    REQUIRE_MESSAGE(done.exit_code == 0, "openssl " << args[1] << " failed: " << done.err);
  }

  TempDir dir_;
  int serial_ = 1;
};

// A server CA and its server certificate, the usual start of a test.
void server_pki(Certs& certs) {
  certs.ca("ca");
  certs.leaf("server", "ca", "server");
}

std::vector<std::string> tls_args(const Certs& certs, const std::string& server = "server") {
  return {"--tls-cert", certs.pem(server), "--tls-key", certs.key(server)};
}

struct Fetched {
  int exit_code;   // curl's: 0 once an answer came; 35 a failed handshake, 60 an unverified certificate
  int status;      // the HTTP status, 0 without an answer
  std::string body;
  std::string err;  // curl's messages (and with -v its trace)
};

// GET https://127.0.0.1:PORT/health/live with curl and `args` (--cacert, ...).
Fetched fetch(uint16_t port, std::vector<std::string> args) {
  // -q first: no ~/.curlrc; no proxy from the environment.
  std::vector<std::string> argv = {CURL_BINARY, "-q", "-sS", "--noproxy", "*", "--connect-timeout", "5",
                                   "--max-time", "10", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("https://127.0.0.1:" + std::to_string(port) + "/health/live");
  auto done = ordersd::test::run(argv);
  Fetched out{done.exit_code, 0, done.out, done.err};
  if (size_t nl = done.out.rfind('\n'); nl != std::string::npos) {
    out.body = done.out.substr(0, nl);
    try {
      out.status = std::stoi(done.out.substr(nl + 1));
    } catch (const std::exception&) {
      out.status = 0;
    }
  }
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

void copy_over(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("serve --tls-cert: HTTPS verified against the CA that signed the certificate, refused by another") {
  Certs certs;
  server_pki(certs);
  certs.ca("stranger");
  TempDir data;
  ServerProcess server(data.path(), tls_args(certs));

  auto ok = fetch(server.port, {"--cacert", certs.pem("ca")});
  INFO("curl: " << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.status == 200);
  CHECK(ok.body.find("\"live\"") != std::string::npos);

  auto wrong_ca = fetch(server.port, {"--cacert", certs.pem("stranger")});
  INFO("curl with another CA: " << wrong_ca.err);
  CHECK(wrong_ca.exit_code == 60);  // CURLE_PEER_FAILED_VERIFICATION
  CHECK(wrong_ca.status == 0);

  std::string err = server.process.stderr_so_far();
  CHECK(err.find("serve: started") != std::string::npos);
  CHECK(err.find(" tls=on ") != std::string::npos);
  CHECK(err.find("tls_client_certs=\"not requested\"") != std::string::npos);
  CHECK(server.stop() == 0);
}

TEST_CASE("TLS 1.2 and 1.3 are served; TLS 1.1 is refused by the server") {
  Certs certs;
  server_pki(certs);
  TempDir data;
  ServerProcess server(data.path(), tls_args(certs));

  auto v12 = fetch(server.port, {"-v", "--cacert", certs.pem("ca"), "--tlsv1.2", "--tls-max", "1.2"});
  INFO("curl TLS 1.2: " << v12.err);
  CHECK(v12.status == 200);
  CHECK(v12.err.find("SSL connection using TLSv1.2") != std::string::npos);

  auto v13 = fetch(server.port, {"-v", "--cacert", certs.pem("ca"), "--tlsv1.3"});
  INFO("curl TLS 1.3: " << v13.err);
  CHECK(v13.status == 200);
  CHECK(v13.err.find("SSL connection using TLSv1.3") != std::string::npos);

  // Security level 0 lets the client offer TLS 1.1 at all; the alert shows
  // that the server refused it (a client refusing itself says "no protocols
  // available").
  auto v11 = fetch(server.port, {"--cacert", certs.pem("ca"), "--tlsv1.1", "--tls-max", "1.1", "--ciphers",
                                 "DEFAULT:@SECLEVEL=0"});
  INFO("curl TLS 1.1: " << v11.err);
  CHECK(v11.exit_code == 35);  // CURLE_SSL_CONNECT_ERROR
  CHECK(v11.status == 0);
  CHECK(v11.err.find("protocol version") != std::string::npos);
}

TEST_CASE("plain HTTP on the TLS port gets no HTTP answer, is logged, and holds no connection slot") {
  ::signal(SIGPIPE, SIG_IGN);
  Certs certs;
  server_pki(certs);
  TempDir data;
  auto args = tls_args(certs);
  // Failed handshakes that kept their sessions would soon fill two slots.
  args.insert(args.end(), {"--max-connections-per-ip", "2"});
  ServerProcess server(data.path(), args);

  for (int i = 0; i < 6; ++i) {
    RawSocket socket(server.port);
    REQUIRE(socket.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto got = socket.read_until_closed(10s);
    CHECK(got.closed);
    CHECK(got.data.find("HTTP/") == std::string::npos);
  }
  CHECK_MESSAGE(eventually([&] { return server.process.stderr_so_far().find("tls handshake failed") != std::string::npos; }),
                server.process.stderr_so_far());
  // Sessions end just after their connections close: poll, bounded.
  CHECK(eventually([&] { return fetch(server.port, {"--cacert", certs.pem("ca")}).status == 200; }));
  CHECK(server.stop() == 0);
}

TEST_CASE("a TLS handshake that does not come within the header timeout is cut off") {
  ::signal(SIGPIPE, SIG_IGN);
  Certs certs;
  server_pki(certs);
  TempDir data;
  auto args = tls_args(certs);
  args.insert(args.end(), {"--header-timeout-ms", "300"});
  ServerProcess server(data.path(), args);

  RawSocket silent(server.port);
  auto connected = Clock::now();
  CHECK(silent.closed_within(10s));
  auto waited = Clock::now() - connected;
  CHECK(waited >= 250ms);
  CHECK(waited < 5s);
  // Half a ClientHello is cut off too.
  RawSocket partial(server.port);
  REQUIRE(partial.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));
  CHECK(partial.closed_within(10s));
  CHECK(fetch(server.port, {"--cacert", certs.pem("ca")}).status == 200);
}

TEST_CASE("serve --tls-client-ca: a client certificate signed by that CA is required") {
  Certs certs;
  server_pki(certs);
  certs.ca("clients");
  certs.leaf("alice", "clients", "client");
  certs.ca("stranger");
  certs.leaf("mallory", "stranger", "client");
  TempDir data;
  auto args = tls_args(certs);
  args.insert(args.end(), {"--tls-client-ca", certs.pem("clients")});
  ServerProcess server(data.path(), args);

  auto none = fetch(server.port, {"--cacert", certs.pem("ca")});
  INFO("curl without a client certificate: " << none.err);
  CHECK(none.exit_code != 0);
  CHECK(none.status == 0);

  auto alice = fetch(server.port, {"--cacert", certs.pem("ca"), "--cert", certs.pem("alice"), "--key", certs.key("alice")});
  INFO("curl with alice's certificate: " << alice.err);
  CHECK(alice.exit_code == 0);
  CHECK(alice.status == 200);

  auto mallory =
      fetch(server.port, {"--cacert", certs.pem("ca"), "--cert", certs.pem("mallory"), "--key", certs.key("mallory")});
  INFO("curl with a certificate from another CA: " << mallory.err);
  CHECK(mallory.exit_code != 0);
  CHECK(mallory.status == 0);

  // Over TLS 1.2 too, where the client learns of the refusal in the handshake.
  auto none12 = fetch(server.port, {"--cacert", certs.pem("ca"), "--tls-max", "1.2"});
  CHECK(none12.exit_code != 0);
  CHECK(none12.status == 0);
  auto alice12 = fetch(server.port, {"--cacert", certs.pem("ca"), "--tls-max", "1.2", "--cert", certs.pem("alice"),
                                     "--key", certs.key("alice")});
  CHECK(alice12.status == 200);

  CHECK(server.process.stderr_so_far().find("tls_client_certs=required") != std::string::npos);
  CHECK(server.stop() == 0);
}

TEST_CASE("SIGHUP reloads the certificate files: new connections get the new certificate") {
  Certs certs;
  server_pki(certs);
  certs.ca("next");
  certs.leaf("renewed", "next", "server");
  // The files the server is given, overwritten in place as a renewal would.
  std::string cert = certs.path("live.pem");
  std::string key = certs.path("live.key");
  copy_over(certs.pem("server"), cert);
  copy_over(certs.key("server"), key);
  TempDir data;
  ServerProcess server(data.path(), {"--tls-cert", cert, "--tls-key", key});

  CHECK(fetch(server.port, {"--cacert", certs.pem("ca")}).status == 200);
  CHECK(fetch(server.port, {"--cacert", certs.pem("next")}).exit_code == 60);

  copy_over(certs.pem("renewed"), cert);
  copy_over(certs.key("renewed"), key);
  server.process.signal(SIGHUP);
  CHECK_MESSAGE(eventually([&] { return fetch(server.port, {"--cacert", certs.pem("next")}).status == 200; }),
                server.process.stderr_so_far());
  auto old = fetch(server.port, {"--cacert", certs.pem("ca")});
  INFO("curl with the first CA after the reload: " << old.err);
  CHECK(old.exit_code == 60);
  CHECK(server.process.stderr_so_far().find("tls certificates reloaded") != std::string::npos);
  CHECK(server.stop() == 0);
}

TEST_CASE("SIGHUP with a broken or mismatched key keeps the certificate in force and logs why") {
  Certs certs;
  server_pki(certs);
  certs.ca("next");
  certs.leaf("renewed", "next", "server");
  std::string cert = certs.path("live.pem");
  std::string key = certs.path("live.key");
  copy_over(certs.pem("server"), cert);
  copy_over(certs.key("server"), key);
  TempDir data;
  ServerProcess server(data.path(), {"--tls-cert", cert, "--tls-key", key});
  const std::string kNotReloaded = "tls certificates not reloaded";

  // Not a key at all.
  write_file(key, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
  server.process.signal(SIGHUP);
  REQUIRE_MESSAGE(eventually([&] { return count(server.process.stderr_so_far(), kNotReloaded) == 1; }),
                  server.process.stderr_so_far());
  std::string err = server.process.stderr_so_far();
  CHECK(err.find("TLS key file '" + key + "'") != std::string::npos);
  CHECK(err.find("not an unencrypted PEM private key") != std::string::npos);
  CHECK(fetch(server.port, {"--cacert", certs.pem("ca")}).status == 200);

  // A new certificate whose key is another's.
  copy_over(certs.pem("renewed"), cert);
  copy_over(certs.key("server"), key);
  server.process.signal(SIGHUP);
  REQUIRE_MESSAGE(eventually([&] { return count(server.process.stderr_so_far(), kNotReloaded) == 2; }),
                  server.process.stderr_so_far());
  CHECK(server.process.stderr_so_far().find("does not match the certificate in '" + cert + "'") != std::string::npos);
  CHECK(fetch(server.port, {"--cacert", certs.pem("ca")}).status == 200);
  CHECK(fetch(server.port, {"--cacert", certs.pem("next")}).exit_code == 60);

  // Mended: the next SIGHUP takes it.
  copy_over(certs.key("renewed"), key);
  server.process.signal(SIGHUP);
  CHECK_MESSAGE(eventually([&] { return fetch(server.port, {"--cacert", certs.pem("next")}).status == 200; }),
                server.process.stderr_so_far());
  CHECK(server.stop() == 0);
}

TEST_CASE("bad TLS files stop start-up with a message naming the file") {
  Certs certs;
  server_pki(certs);
  certs.leaf("other", "ca", "server");
  TempDir data;

  auto mismatched = ordersd::test::run({kBinary, "serve", "--data", data.sub("a"), "--listen", "127.0.0.1:0",
                                        "--tls-cert", certs.pem("server"), "--tls-key", certs.key("other")});
  CHECK(mismatched.exit_code != 0);
  CHECK(mismatched.out.find("listening on") == std::string::npos);
  CHECK(mismatched.err.find("TLS key file '" + certs.key("other") + "': does not match the certificate in '" +
                            certs.pem("server") + "'") != std::string::npos);

  auto missing = ordersd::test::run({kBinary, "serve", "--data", data.sub("b"), "--listen", "127.0.0.1:0",
                                     "--tls-cert", certs.path("nowhere.pem"), "--tls-key", certs.key("server")});
  CHECK(missing.exit_code != 0);
  CHECK(missing.err.find("TLS certificate file '" + certs.path("nowhere.pem") + "': No such file or directory") !=
        std::string::npos);

  auto bad_ca = ordersd::test::run({kBinary, "serve", "--data", data.sub("c"), "--listen", "127.0.0.1:0", "--tls-cert",
                                    certs.pem("server"), "--tls-key", certs.key("server"), "--tls-client-ca",
                                    certs.key("server")});
  CHECK(bad_ca.exit_code != 0);
  CHECK(bad_ca.err.find("TLS client CA file '" + certs.key("server") + "'") != std::string::npos);
}

TEST_CASE("the TLS options are refused on the command line unless given together") {
  Certs certs;
  server_pki(certs);
  TempDir data;
  auto cert_only = ordersd::test::run({kBinary, "serve", "--data", data.path(), "--tls-cert", certs.pem("server")});
  CHECK(cert_only.exit_code == 2);
  CHECK(cert_only.err.find("--tls-cert and --tls-key go together") != std::string::npos);
  auto key_only = ordersd::test::run({kBinary, "serve", "--data", data.path(), "--tls-key", certs.key("server")});
  CHECK(key_only.exit_code == 2);
  CHECK(key_only.err.find("--tls-cert and --tls-key go together") != std::string::npos);
  auto ca_only = ordersd::test::run({kBinary, "serve", "--data", data.path(), "--tls-client-ca", certs.pem("ca")});
  CHECK(ca_only.exit_code == 2);
  CHECK(ca_only.err.find("--tls-client-ca needs --tls-cert and --tls-key") != std::string::npos);
}
