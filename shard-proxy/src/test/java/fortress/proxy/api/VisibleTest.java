package fortress.proxy.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.ledger.v1.Account;
import fortress.ledger.v1.TransferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

/** A transfer's answer passed on as the node's bytes still shows its sender nothing of another tenant. */
class VisibleTest {
  private static TransferResponse answer(String toTenant) {
    return TransferResponse.newBuilder()
        .setFromAccount(Account.newBuilder().setTenantId("payer").setAccountId("from").setBalance(90).setSequence(7))
        .setToAccount(Account.newBuilder().setTenantId(toTenant).setAccountId("to").setBalance(510).setSequence(3))
        .build();
  }

  @Test
  void transferBytes_toTheSendersOwnAccount_areTheNodesBytes() {
    byte[] node = answer("payer").toByteArray();
    assertThat(Visible.transfer("payer", node)).isSameAs(node);
  }

  @Test
  void transferBytes_toAnotherTenant_loseItsBalancesAndSequence() throws Exception {
    byte[] node = answer("payee").toByteArray();
    TransferResponse seen = TransferResponse.parseFrom(Visible.transfer("payer", node));
    assertThat(seen.getToAccount()).isEqualTo(Account.newBuilder().setTenantId("payee").setAccountId("to").build());
    assertThat(seen.getFromAccount()).isEqualTo(answer("payee").getFromAccount());
  }

  @Test
  void transferBytes_thatDoNotParse_areInternal_notPassedOn() {
    StatusRuntimeException e = catchThrowableOfType(() -> Visible.transfer("payer", new byte[] {0x0a, 0x7f}),
        StatusRuntimeException.class);
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
  }
}
