package fortress.rpc;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.ProtocolMessageEnum;
import com.google.rpc.ErrorInfo;
import fortress.rpc.v1.Effect;
import fortress.rpc.v1.ReasonProto;
import io.grpc.Status;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the contract declares about an error reason: each domain's reasons are one proto enum
 * ({@code fortress.ledger.v1.ErrorReason} and its siblings) whose options give the ErrorInfo
 * domain, the status code and the effect. Servers and the SDK read them here, so a reason is
 * declared once, in the proto, and nowhere else.
 */
public final class ErrorReasons {
  /** One reason as the contract declares it. */
  public record Spec(String domain, String reason, Status.Code code, Effect effect, boolean recorded) {}

  private static final Map<EnumValueDescriptor, Spec> SPECS = new ConcurrentHashMap<>();

  private ErrorReasons() {}

  /** The declared domain, code and effect of {@code reason}; a value without them (the zero one) throws. */
  public static Spec spec(ProtocolMessageEnum reason) {
    return spec(reason.getValueDescriptor());
  }

  /** The same, for a value of a reason enum by its descriptor. */
  public static Spec spec(EnumValueDescriptor reason) {
    return SPECS.computeIfAbsent(reason, ErrorReasons::read);
  }

  public static Status.Code code(ProtocolMessageEnum reason) {
    return spec(reason).code();
  }

  public static String domain(ProtocolMessageEnum reason) {
    return spec(reason).domain();
  }

  /** Whether an error with this reason certainly changed nothing, or may have taken effect. */
  public static Effect effect(ProtocolMessageEnum reason) {
    return spec(reason).effect();
  }

  /**
   * The effect of an error as a client sees it: the declared effect of its reason when one of
   * {@code vocabularies} declares it; otherwise (no ErrorInfo: the connection was lost, the
   * deadline passed; or a reason from a newer server) EFFECT_UNKNOWN for a code that leaves the
   * outcome open, EFFECT_NONE for the rest.
   */
  public static Effect effect(Status.Code code, ErrorInfo info, EnumDescriptor... vocabularies) {
    for (EnumDescriptor reasons : vocabularies) {
      Optional<EnumValueDescriptor> value = find(reasons, info);
      if (value.isPresent()) {
        return spec(value.get()).effect();
      }
    }
    return switch (code) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, INTERNAL, DATA_LOSS -> Effect.EFFECT_UNKNOWN;
      default -> Effect.EFFECT_NONE;
    };
  }

  /**
   * Whether an error settles a mutation even after an earlier attempt's outcome was unknown: it
   * leaves the outcome open itself, or its reason is declared the request's recorded outcome
   * ({@code (fortress.rpc.v1.recorded)}). Any other refusal of a later attempt does not: the
   * earlier attempt may still land.
   */
  public static boolean settles(Status.Code code, ErrorInfo info, EnumDescriptor... vocabularies) {
    if (effect(code, info, vocabularies) == Effect.EFFECT_UNKNOWN) {
      return true;
    }
    for (EnumDescriptor reasons : vocabularies) {
      Optional<EnumValueDescriptor> value = find(reasons, info);
      if (value.isPresent()) {
        return spec(value.get()).recorded();
      }
    }
    return false;
  }

  /** The ErrorInfo domain of a reason enum. */
  public static String domain(EnumDescriptor reasons) {
    String domain = reasons.getOptions().getExtension(ReasonProto.domain);
    checkArgument(!domain.isEmpty(), "%s declares no (fortress.rpc.v1.domain)", reasons.getFullName());
    return domain;
  }

  /**
   * The value of {@code reasons} an ErrorInfo names, or empty when the ErrorInfo is of another
   * domain or names a reason this enum does not have (a newer server's).
   */
  public static Optional<EnumValueDescriptor> find(EnumDescriptor reasons, ErrorInfo info) {
    if (!info.getDomain().equals(domain(reasons))) {
      return Optional.empty();
    }
    EnumValueDescriptor value = reasons.findValueByName(info.getReason());
    return value == null || value.getNumber() == 0 ? Optional.empty() : Optional.of(value);
  }

  private static Spec read(EnumValueDescriptor value) {
    var options = value.getOptions();
    checkArgument(options.hasExtension(ReasonProto.code) && options.hasExtension(ReasonProto.effect),
        "%s declares no (fortress.rpc.v1.code) and (fortress.rpc.v1.effect)", value.getFullName());
    Effect effect = options.getExtension(ReasonProto.effect);
    checkArgument(effect != Effect.EFFECT_UNSPECIFIED, "%s declares no effect", value.getFullName());
    return new Spec(domain(value.getType()), value.getName(),
        Status.Code.values()[options.getExtension(ReasonProto.code).getNumber()], effect,
        options.getExtension(ReasonProto.recorded));
  }
}
