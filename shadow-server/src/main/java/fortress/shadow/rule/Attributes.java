package fortress.shadow.rule;

import dev.cel.common.types.CelType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.runtime.CelVariableResolver;
import fortress.shadow.v1.RequestAttributes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The CEL variables a rule reads: one per field of RequestAttributes, under the same name. */
public final class Attributes implements CelVariableResolver {
  /** Every variable and its CEL type, in declaration order. */
  public static final Map<String, CelType> VARIABLES = variables();

  private final RequestAttributes request;

  public Attributes(RequestAttributes request) {
    this.request = request;
  }

  private static Map<String, CelType> variables() {
    Map<String, CelType> v = new LinkedHashMap<>();
    v.put("ip", SimpleType.STRING);
    v.put("method", SimpleType.STRING);
    v.put("path", SimpleType.STRING);
    v.put("headers", MapType.create(SimpleType.STRING, SimpleType.STRING));
    v.put("tenant", SimpleType.STRING);
    v.put("user_agent", SimpleType.STRING);
    v.put("country", SimpleType.STRING);
    v.put("bytes", SimpleType.INT);
    v.put("requests_per_minute", SimpleType.INT);
    return Map.copyOf(v);
  }

  @Override
  public Optional<Object> find(String name) {
    return Optional.ofNullable(switch (name) {
      case "ip" -> request.getIp();
      case "method" -> request.getMethod();
      case "path" -> request.getPath();
      case "headers" -> request.getHeadersMap();
      case "tenant" -> request.getTenant();
      case "user_agent" -> request.getUserAgent();
      case "country" -> request.getCountry();
      case "bytes" -> request.getBytes();
      case "requests_per_minute" -> request.getRequestsPerMinute();
      default -> null;
    });
  }
}
