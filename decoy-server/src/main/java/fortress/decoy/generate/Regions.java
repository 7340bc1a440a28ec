package fortress.decoy.generate;

import java.util.List;

/**
 * The five regions profiles come from. A locale ties a country to its cities (each with its IANA
 * timezone), names and email domains, so every field of a profile agrees with the others.
 */
public final class Regions {
  private Regions() {}

  public record City(String name, String timezone) {}

  public record Locale(String country, List<City> cities, List<String> givenNames, List<String> familyNames,
      List<String> emailDomains) {}

  public record Region(String name, List<Locale> locales) {}

  private static final List<String> ENGLISH_GIVEN = List.of("James", "Mary", "Michael", "Jennifer", "David", "Linda",
      "Robert", "Emily", "Daniel", "Sarah", "Ethan", "Olivia", "Noah", "Ava", "Liam", "Chloe");
  private static final List<String> ENGLISH_FAMILY = List.of("Smith", "Johnson", "Williams", "Brown", "Jones",
      "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Clark");

  public static final List<Region> ALL = List.of(
      new Region("north-america", List.of(
          new Locale("US", List.of(new City("New York", "America/New_York"), new City("Chicago", "America/Chicago"),
              new City("Los Angeles", "America/Los_Angeles"), new City("Seattle", "America/Los_Angeles"),
              new City("Denver", "America/Denver")), ENGLISH_GIVEN, ENGLISH_FAMILY,
              List.of("gmail.com", "yahoo.com", "outlook.com", "icloud.com")),
          new Locale("CA", List.of(new City("Toronto", "America/Toronto"), new City("Vancouver", "America/Vancouver"),
              new City("Montreal", "America/Toronto"), new City("Calgary", "America/Edmonton")), ENGLISH_GIVEN,
              ENGLISH_FAMILY, List.of("gmail.com", "rogers.com", "outlook.com", "shaw.ca")))),
      new Region("europe", List.of(
          new Locale("DE", List.of(new City("Berlin", "Europe/Berlin"), new City("Hamburg", "Europe/Berlin"),
              new City("Munich", "Europe/Berlin"), new City("Cologne", "Europe/Berlin")),
              List.of("Lukas", "Anna", "Leon", "Lena", "Felix", "Marie", "Jonas", "Sophie", "Paul", "Laura"),
              List.of("Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann"),
              List.of("gmx.de", "web.de", "t-online.de", "gmail.com")),
          new Locale("FR", List.of(new City("Paris", "Europe/Paris"), new City("Lyon", "Europe/Paris"),
              new City("Marseille", "Europe/Paris"), new City("Toulouse", "Europe/Paris")),
              List.of("Louis", "Camille", "Hugo", "Chloe", "Jules", "Manon", "Lucas", "Ines", "Arthur", "Lea"),
              List.of("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"),
              List.of("orange.fr", "free.fr", "laposte.net", "gmail.com")))),
      new Region("latin-america", List.of(
          new Locale("BR", List.of(new City("Sao Paulo", "America/Sao_Paulo"),
              new City("Rio de Janeiro", "America/Sao_Paulo"), new City("Belo Horizonte", "America/Sao_Paulo"),
              new City("Manaus", "America/Manaus")),
              List.of("Gabriel", "Julia", "Pedro", "Beatriz", "Lucas", "Mariana", "Rafael", "Larissa", "Thiago"),
              List.of("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Ferreira"),
              List.of("gmail.com", "hotmail.com", "uol.com.br", "bol.com.br")),
          new Locale("MX", List.of(new City("Mexico City", "America/Mexico_City"),
              new City("Guadalajara", "America/Mexico_City"), new City("Monterrey", "America/Monterrey"),
              new City("Tijuana", "America/Tijuana")),
              List.of("Santiago", "Sofia", "Mateo", "Valentina", "Diego", "Camila", "Emiliano", "Ximena"),
              List.of("Hernandez", "Garcia", "Martinez", "Lopez", "Gonzalez", "Perez", "Rodriguez", "Sanchez"),
              List.of("gmail.com", "hotmail.com", "prodigy.net.mx", "yahoo.com.mx")))),
      new Region("east-asia", List.of(
          new Locale("JP", List.of(new City("Tokyo", "Asia/Tokyo"), new City("Osaka", "Asia/Tokyo"),
              new City("Nagoya", "Asia/Tokyo"), new City("Sapporo", "Asia/Tokyo")),
              List.of("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura", "Riku", "Mio"),
              List.of("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"),
              List.of("docomo.ne.jp", "yahoo.co.jp", "gmail.com", "icloud.com")),
          new Locale("KR", List.of(new City("Seoul", "Asia/Seoul"), new City("Busan", "Asia/Seoul"),
              new City("Incheon", "Asia/Seoul"), new City("Daegu", "Asia/Seoul")),
              List.of("Minjun", "Seoyeon", "Jiho", "Jiwoo", "Hyunwoo", "Soyeon", "Dohyun", "Hayoon"),
              List.of("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
              List.of("naver.com", "daum.net", "gmail.com", "kakao.com")))),
      new Region("south-asia", List.of(
          new Locale("IN", List.of(new City("Mumbai", "Asia/Kolkata"), new City("Delhi", "Asia/Kolkata"),
              new City("Bengaluru", "Asia/Kolkata"), new City("Chennai", "Asia/Kolkata")),
              List.of("Aarav", "Ananya", "Vivaan", "Diya", "Arjun", "Saanvi", "Reyansh", "Aadhya", "Rohan"),
              List.of("Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair"),
              List.of("gmail.com", "rediffmail.com", "yahoo.co.in", "outlook.com")),
          new Locale("BD", List.of(new City("Dhaka", "Asia/Dhaka"), new City("Chittagong", "Asia/Dhaka"),
              new City("Khulna", "Asia/Dhaka"), new City("Sylhet", "Asia/Dhaka")),
              List.of("Rahim", "Fatima", "Karim", "Ayesha", "Tanvir", "Nusrat", "Imran", "Sadia"),
              List.of("Hossain", "Rahman", "Islam", "Ahmed", "Chowdhury", "Akter", "Khan", "Uddin"),
              List.of("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")))));

  /** The region a profile's city belongs to, or null; the fidelity report checks agreement with it. */
  public static Region regionOf(String country, String city, String timezone) {
    for (Region r : ALL) {
      for (Locale l : r.locales()) {
        if (l.country().equals(country) && l.cities().contains(new City(city, timezone))) {
          return r;
        }
      }
    }
    return null;
  }
}
