package fortress.ledger.store;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.protobuf.ProtocolMessageEnum;
import fortress.ledger.v1.EntryKind;
import fortress.ledger.v1.HoldState;
import fortress.shard.v1.TransactionState;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names states and kinds in SQL by their proto constant, never by a bare number: a query says
 * {@code state = {TRANSACTION_STATE_PREPARING}} and {@link #expand} puts in the enum's number once,
 * when the query text is built. An unknown name fails at once.
 */
public final class Sql {
  private static final Pattern CONSTANT = Pattern.compile("\\{([A-Z][A-Z0-9_]*)}");
  private static final Map<String, Integer> NUMBERS = new HashMap<>();

  static {
    add(TransactionState.values());
    add(HoldState.values());
    add(EntryKind.values());
  }

  private Sql() {}

  private static void add(ProtocolMessageEnum[] values) {
    for (ProtocolMessageEnum v : values) {
      if (v instanceof Enum<?> e && !e.name().equals("UNRECOGNIZED")) {
        NUMBERS.put(e.name(), v.getNumber());
      }
    }
  }

  /** The query with every {@code {CONSTANT}} replaced by its number. */
  public static String expand(String sql) {
    Matcher m = CONSTANT.matcher(sql);
    StringBuilder out = new StringBuilder(sql.length());
    while (m.find()) {
      Integer number = NUMBERS.get(m.group(1));
      checkArgument(number != null, "unknown constant %s in SQL", m.group(1));
      m.appendReplacement(out, Integer.toString(number));
    }
    m.appendTail(out);
    return out.toString();
  }
}
