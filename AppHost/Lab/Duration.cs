using System.Globalization;

namespace CloudApp.AppHost.Lab;

/// <summary>Prometheus-style durations (<c>30s</c>, <c>5m</c>, <c>1h</c>, <c>2d</c>, and combinations like <c>1h30m</c>).</summary>
internal static class Duration
{
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not a duration like 30s, 5m, 1h or 1h30m.");

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var rest = text.Trim();
        while (rest.Length > 0)
        {
            var digits = rest.TakeWhile(char.IsAsciiDigit).Count();
            if (digits == 0 || digits == rest.Length) return false;
            var number = long.Parse(rest[..digits], CultureInfo.InvariantCulture);
            var unit = rest[digits..].StartsWith("ms", StringComparison.Ordinal) ? "ms" : rest[digits].ToString();
            value += unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                "d" => TimeSpan.FromDays(number),
                "w" => TimeSpan.FromDays(7 * number),
                _ => TimeSpan.MinValue,
            };
            if (value < TimeSpan.Zero) return false;
            rest = rest[(digits + unit.Length)..];
        }
        return value > TimeSpan.Zero;
    }
}
