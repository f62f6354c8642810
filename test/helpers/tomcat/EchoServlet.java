// The webapp the AJP tests run in a real Tomcat (test/helpers/tomcat.ts): it
// answers with what the container received, or streams what it is asked for.
//   default        JSON: method, uri, query, protocol, addresses and ports, secure,
//                  headers, route (the engine's jvmRoute), body length + sha256
//   ?session=1     creates a session (Set-Cookie JSESSIONID=<id>.<jvmRoute>)
//   ?size=N        N bytes of a known pattern instead (with Content-Length when &cl=1)
//   ?slow=MS       sleeps MS between 64 KiB pieces of ?size, flushing each
//   ?status=N      that status; ?noread=1 does not read the request body
//   ?hold=MS       sleeps MS before answering (drain tests)
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collections;

public class EchoServlet extends HttpServlet {
  /** The ?size= pattern, made once: the bench measures the proxy, not this loop. */
  private static final byte[] PIECE = new byte[65536];

  static {
    for (int i = 0; i < PIECE.length; i++) PIECE[i] = (byte) (i % 251);
  }

  @Override
  protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
    String status = req.getParameter("status");
    String hold = req.getParameter("hold");
    if (hold != null) sleep(Long.parseLong(hold));
    long bodyBytes = 0;
    String sha = "";
    if (req.getParameter("noread") == null) {
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        InputStream in = req.getInputStream();
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
          bodyBytes += n;
        }
        sha = hex(md.digest());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IOException(e);
      }
    }
    if (req.getParameter("session") != null) req.getSession(true);
    if (status != null) res.setStatus(Integer.parseInt(status));
    String size = req.getParameter("size");
    if (size != null) {
      long total = Long.parseLong(size);
      String slow = req.getParameter("slow");
      res.setContentType("application/octet-stream");
      if (req.getParameter("cl") != null) res.setContentLengthLong(total);
      byte[] piece = PIECE;
      OutputStream out = res.getOutputStream();
      long sent = 0;
      while (sent < total) {
        int n = (int) Math.min(piece.length, total - sent);
        out.write(piece, 0, n);
        sent += n;
        if (slow != null) {
          out.flush();
          sleep(Long.parseLong(slow));
        }
      }
      return;
    }
    StringBuilder json = new StringBuilder();
    json.append('{');
    field(json, "method", req.getMethod()).append(',');
    field(json, "uri", req.getRequestURI()).append(',');
    field(json, "query", req.getQueryString()).append(',');
    field(json, "protocol", req.getProtocol()).append(',');
    field(json, "remoteAddr", req.getRemoteAddr()).append(',');
    json.append("\"remotePort\":").append(req.getRemotePort()).append(',');
    field(json, "localAddr", req.getLocalAddr()).append(',');
    field(json, "localName", req.getLocalName()).append(',');
    json.append("\"localPort\":").append(req.getLocalPort()).append(',');
    field(json, "serverName", req.getServerName()).append(',');
    json.append("\"serverPort\":").append(req.getServerPort()).append(',');
    json.append("\"secure\":").append(req.isSecure()).append(',');
    field(json, "scheme", req.getScheme()).append(',');
    field(json, "route", System.getProperty("echo.route")).append(',');
    field(json, "sessionId", req.getSession(false) == null ? null : req.getSession(false).getId()).append(',');
    json.append("\"bodyBytes\":").append(bodyBytes).append(',');
    field(json, "sha256", sha).append(',');
    json.append("\"headers\":[");
    boolean first = true;
    for (String name : Collections.list(req.getHeaderNames())) {
      for (String value : Collections.list(req.getHeaders(name))) {
        if (!first) json.append(',');
        first = false;
        json.append('[');
        str(json, name).append(',');
        str(json, value).append(']');
      }
    }
    json.append("]}");
    byte[] out = json.toString().getBytes(StandardCharsets.UTF_8);
    res.setContentType("application/json");
    res.setContentLength(out.length);
    if (!"HEAD".equals(req.getMethod())) res.getOutputStream().write(out);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  private static StringBuilder field(StringBuilder json, String name, String value) {
    str(json, name).append(':');
    if (value == null) return json.append("null");
    return str(json, value);
  }

  private static StringBuilder str(StringBuilder json, String s) {
    json.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') json.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) json.append(String.format("\\u%04x", (int) c));
      else json.append(c);
    }
    return json.append('"');
  }
}
