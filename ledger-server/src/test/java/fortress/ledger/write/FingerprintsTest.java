package fortress.ledger.write;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.PaymentCard;
import fortress.ledger.v1.TransferRequest;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Fingerprints are stored with every idempotency record, so a retry after an upgrade must find the
 * same one: these vectors were taken from the first implementation (a fresh stream per request).
 */
class FingerprintsTest {
  private static final byte[] KEY = "node key".getBytes(StandardCharsets.US_ASCII);

  @Test
  void of_requests_matchStoredFingerprints() {
    Fingerprints fingerprints = new Fingerprints(KEY);
    Op transfer = Op.of(TransferRequest.newBuilder().setRequestId("r-1").setTenantId("t").setFromAccountId("a")
        .setToAccountId("b").setAmount(5).setMemo("mémo").build());
    Op deposit = Op.of(DepositRequest.newBuilder().setRequestId("r-2").setTenantId("t").setAccountId("a").setAmount(7)
        .setCard(PaymentCard.newBuilder().setNumber("4111111111111111").setExpiryMonth(12).setExpiryYear(2030)
            .setHolderName("A B"))
        .build());
    Op large = Op.of(DepositRequest.newBuilder().setRequestId("r-3").setTenantId("t").setAccountId("a").setAmount(7)
        .setMemo("x".repeat(2000)).build());

    fingerprints.of(large);

    assertThat(HexFormat.of().formatHex(fingerprints.of(transfer)))
        .isEqualTo("2e8d0f0cf70ee8b8c74549602ed48953b75bb31bd086c973762d2e0271294add");
    assertThat(HexFormat.of().formatHex(fingerprints.of(deposit)))
        .isEqualTo("abf4c97a9d5b136f43a789869c360a70be9033e06b2845b291574e74a99e09d6");
  }
}
