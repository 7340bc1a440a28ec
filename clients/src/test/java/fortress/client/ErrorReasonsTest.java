package fortress.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.rpc.ErrorInfo;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import io.grpc.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The contract's reason enums: every reason declares its code and effect, once. */
class ErrorReasonsTest {
  private static final List<EnumDescriptor> VOCABULARIES = List.of(fortress.ledger.v1.ErrorReason.getDescriptor(),
      fortress.auth.v1.ErrorReason.getDescriptor(), fortress.shadow.v1.ErrorReason.getDescriptor(),
      fortress.decoy.v1.ErrorReason.getDescriptor());

  /**
   * Refusals of a call that works in steps and records each: the steps before the refusal stay
   * done (so the effect is not none), and sending the same request again resumes.
   */
  private static final java.util.Set<String> STOPPED_PART_WAY = java.util.Set.of(
      "fortress.decoy.v1.ErrorReason.SHADOW_REFUSED");

  @Test
  void everyReason_declaresACodeAndAnEffect_underItsEnumsDomain() {
    for (EnumDescriptor reasons : VOCABULARIES) {
      for (EnumValueDescriptor value : reasons.getValues()) {
        if (value.getNumber() == 0) {
          continue;
        }
        ErrorReasons.Spec spec = ErrorReasons.spec(value);
        assertThat(spec.domain()).as(value.getFullName()).endsWith(".fortress.dev");
        assertThat(spec.code()).as(value.getFullName()).isNotIn(Status.Code.OK, Status.Code.UNKNOWN,
            Status.Code.INTERNAL);
        assertThat(spec.effect()).as(value.getFullName()).isIn(Effect.EFFECT_NONE, Effect.EFFECT_UNKNOWN);
        if (spec.effect() == Effect.EFFECT_UNKNOWN && !STOPPED_PART_WAY.contains(value.getFullName())) {
          assertThat(spec.code()).as("%s may have taken effect, so it is not a refusal", value.getFullName())
              .isIn(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED, Status.Code.CANCELLED);
        }
      }
    }
    assertThat(VOCABULARIES.stream().map(ErrorReasons::domain).distinct()).hasSize(VOCABULARIES.size());
  }

  /** Which ledger reasons leave a mutation's outcome open is part of the contract; changing it must be deliberate. */
  @Test
  void theUncertainLedgerReasons_areExactlyThese() {
    assertThat(fortress.ledger.v1.ErrorReason.getDescriptor().getValues().stream()
        .filter(v -> v.getNumber() != 0 && ErrorReasons.spec(v).effect() == Effect.EFFECT_UNKNOWN)
        .map(EnumValueDescriptor::getName))
        .containsExactlyInAnyOrder("OUTCOME_UNKNOWN", "TRANSFER_IN_PROGRESS", "NODE_UNAVAILABLE", "DEADLINE_EXCEEDED",
            "CANCELLED");
  }

  /** A reason that is the request's recorded outcome settles it after an uncertain attempt; the others do not. */
  @Test
  void onlyTheRecordedRefusals_settleAMutationAfterAnUncertainAttempt() {
    assertThat(fortress.ledger.v1.ErrorReason.getDescriptor().getValues().stream()
        .filter(v -> v.getNumber() != 0 && ErrorReasons.spec(v).recorded())
        .map(EnumValueDescriptor::getName)).containsExactly("TRANSFER_ABORTED");
    EnumDescriptor ledger = fortress.ledger.v1.ErrorReason.getDescriptor();
    ErrorInfo aborted = ErrorInfo.newBuilder().setDomain("ledger.fortress.dev").setReason("TRANSFER_ABORTED").build();
    assertThat(ErrorReasons.settles(Status.Code.ABORTED, aborted, ledger)).isTrue();
    assertThat(ErrorReasons.settles(Status.Code.FAILED_PRECONDITION, aborted.toBuilder()
        .setReason("INSUFFICIENT_FUNDS").build(), ledger)).isFalse();
    assertThat(ErrorReasons.settles(Status.Code.UNAVAILABLE, ErrorInfo.getDefaultInstance(), ledger)).isTrue();
  }

  @Test
  void theZeroValue_isNoReason() {
    assertThatThrownBy(() -> ErrorReasons.spec(fortress.ledger.v1.ErrorReason.ERROR_REASON_UNSPECIFIED))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("declares no");
  }

  @Test
  void anErrorWithoutAKnownReason_isUncertainOnlyWhenItsCodeLeavesTheOutcomeOpen() {
    EnumDescriptor ledger = fortress.ledger.v1.ErrorReason.getDescriptor();
    ErrorInfo none = ErrorInfo.getDefaultInstance();
    assertThat(ErrorReasons.effect(Status.Code.UNAVAILABLE, none, ledger)).isEqualTo(Effect.EFFECT_UNKNOWN);
    assertThat(ErrorReasons.effect(Status.Code.DEADLINE_EXCEEDED, none, ledger)).isEqualTo(Effect.EFFECT_UNKNOWN);
    assertThat(ErrorReasons.effect(Status.Code.PERMISSION_DENIED, none, ledger)).isEqualTo(Effect.EFFECT_NONE);
    ErrorInfo queueFull = ErrorInfo.newBuilder().setDomain("ledger.fortress.dev").setReason("WRITER_QUEUE_FULL")
        .build();
    assertThat(ErrorReasons.effect(Status.Code.RESOURCE_EXHAUSTED, queueFull, ledger)).isEqualTo(Effect.EFFECT_NONE);
    ErrorInfo lost = queueFull.toBuilder().setReason("OUTCOME_UNKNOWN").build();
    assertThat(ErrorReasons.effect(Status.Code.UNAVAILABLE, lost, ledger)).isEqualTo(Effect.EFFECT_UNKNOWN);
    ErrorInfo otherDomain = lost.toBuilder().setDomain("shadow.fortress.dev").build();
    assertThat(ErrorReasons.effect(Status.Code.PERMISSION_DENIED, otherDomain, ledger))
        .as("a reason of a domain not asked about is no reason").isEqualTo(Effect.EFFECT_NONE);
  }
}
