package fortress.decoy.template;

import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The served templates. Reads are lock-free: changes replace the whole list, which is small and
 * changes rarely, while every decoy request reads it.
 */
public final class Endpoints {
  private volatile List<Endpoint> endpoints = List.of();

  /**
   * What a request resolves to: an endpoint and its path values, or none and the family to answer
   * in. {@code pathServed} says whether some template serves the path with another method (so the
   * answer is 405 rather than 404).
   */
  public record Match(Endpoint endpoint, Map<String, String> pathValues, TemplateFamily family,
      boolean pathServed) {}

  public synchronized void put(Template t) {
    List<Endpoint> next = new ArrayList<>(endpoints);
    next.removeIf(e -> e.template().getTemplateId().equals(t.getTemplateId()));
    next.add(Endpoint.compile("template", t));
    // Most literal segments first; ties by id, so matching does not depend on creation order.
    next.sort(Comparator.comparingInt(Endpoint::literalCount).reversed()
        .thenComparing(e -> e.template().getTemplateId()));
    endpoints = List.copyOf(next);
  }

  public synchronized void remove(String templateId) {
    List<Endpoint> next = new ArrayList<>(endpoints);
    next.removeIf(e -> e.template().getTemplateId().equals(templateId));
    endpoints = List.copyOf(next);
  }

  /**
   * The endpoint for a method and path; HEAD is answered by the GET template when there is no HEAD
   * one, as a web server does. With none, the family is that of the nearest template:
   * the one sharing the most leading path segments with the request, and of those the shortest
   * (the most general), so a 404 looks like the pages around it.
   */
  public Match match(String method, String path) {
    List<String> segments = Endpoint.split(path);
    Endpoint nearest = null;
    int nearestShared = -1;
    Match head = null;
    Match other = null;
    for (Endpoint e : endpoints) {
      Map<String, String> values = e.match(segments);
      if (values != null) {
        String served = e.template().getMethod();
        if (served.equals(method)) {
          return new Match(e, values, e.template().getFamily(), true);
        }
        if (head == null && method.equals("HEAD") && served.equals("GET")) {
          head = new Match(e, values, e.template().getFamily(), true);
        }
        if (other == null) {
          other = new Match(null, Map.of(), e.template().getFamily(), true);
        }
      }
      int shared = e.sharedSegments(segments);
      if (shared > nearestShared || shared == nearestShared && e.segmentCount() < nearest.segmentCount()) {
        nearestShared = shared;
        nearest = e;
      }
    }
    if (head != null || other != null) {
      return head != null ? head : other;
    }
    return new Match(null, Map.of(), nearest == null ? TemplateFamily.TEMPLATE_FAMILY_NGINX_HTML
        : nearest.template().getFamily(), false);
  }
}
