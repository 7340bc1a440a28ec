package fortress.local;

import fortress.core.security.SecretFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority for the local cluster's {@code --tls}: a fresh CA on every
 * start and, per server, a P-256 key and a certificate whose common name is the server's name (a
 * ledger node's id, or {@code proxy}) and which is valid for {@code localhost} and the bound
 * address, for serving and as a client. Files are PEM, keys PKCS#8 readable by the owner only.
 */
final class LocalCa {
  private static final Duration VALIDITY = Duration.ofDays(30);

  private final Path dir;
  private final KeyPair caKeys;
  private final X509Certificate ca;
  private final SecureRandom random = new SecureRandom();

  private LocalCa(Path dir, KeyPair caKeys, X509Certificate ca) {
    this.dir = dir;
    this.caKeys = caKeys;
    this.ca = ca;
  }

  /** A new CA whose certificate is written to {@code dir/ca.pem}. */
  static LocalCa create(Path dir) throws IOException, GeneralSecurityException {
    Files.createDirectories(dir);
    KeyPair keys = keyPair();
    X500Name name = new X500Name("CN=Fortress local CA");
    Instant now = Instant.now();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), name, keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    LocalCa ca = new LocalCa(dir, keys, sign(b, keys));
    writePem(dir.resolve("ca.pem"), "CERTIFICATE", ca.ca.getEncoded(), false);
    return ca;
  }

  Path caFile() {
    return dir.resolve("ca.pem");
  }

  Path certFile(String name) {
    return dir.resolve(name + ".pem");
  }

  Path keyFile(String name) {
    return dir.resolve(name + ".key");
  }

  /** Issues {@code name}'s certificate and key, for {@code localhost} and {@code host}. */
  void issue(String name, String host) throws IOException, GeneralSecurityException {
    KeyPair keys = keyPair();
    Instant now = Instant.now();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, new BigInteger(64, random),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), new X500Name("CN=" + name),
        keys.getPublic());
    List<GeneralName> names = new ArrayList<>(List.of(new GeneralName(GeneralName.dNSName, "localhost"),
        new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
    if (!host.equals("127.0.0.1") && !host.equals("localhost")) {
      boolean ip = InetAddress.getByName(host).getHostAddress().equals(host);
      names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, host));
    }
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    b.addExtension(Extension.extendedKeyUsage, false,
        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    writePem(certFile(name), "CERTIFICATE", sign(b, caKeys).getEncoded(), false);
    writePem(keyFile(name), "PRIVATE KEY", keys.getPrivate().getEncoded(), true);
  }

  private static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("cannot sign a certificate", e);
    }
  }

  private static void writePem(Path file, String type, byte[] der, boolean secret) throws IOException {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    String pem = "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    if (secret) {
      SecretFiles.write(file, pem);
      return;
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
