package fortress.ledger.card;

import fortress.ledger.v1.CardBrand;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * A card_payment row with the journal entry it belongs to, as a vault opens it: the tenant and
 * account come from the entry's account, never from the card row itself.
 */
public record StoredCard(CardVault.Sealed sealed, CardVault.Entry entry) {
  private static final String LOAD = """
      SELECT c.brand, c.last4, c.key_id, c.aad_version, c.nonce, c.ciphertext, a.tenant_id, a.account_id
      FROM card_payment c
      JOIN journal j ON j.sequence = c.journal_sequence
      JOIN account a ON a.id = j.account_ref
      WHERE c.journal_sequence = ?
      """;

  /** The card stored with journal entry {@code journalSequence}, if that entry has one. */
  public static Optional<StoredCard> load(Connection c, long journalSequence) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(LOAD)) {
      s.setLong(1, journalSequence);
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          return Optional.empty();
        }
        CardVault.Sealed sealed = new CardVault.Sealed(CardBrand.forNumber(r.getInt(1)), r.getString(2),
            r.getString(3), r.getInt(4), r.getBytes(5), r.getBytes(6));
        return Optional.of(new StoredCard(sealed, new CardVault.Entry(r.getString(7), r.getString(8),
            journalSequence)));
      }
    }
  }
}
