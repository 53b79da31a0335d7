using System.Globalization;

namespace CloudApp.Tests;

/// <summary>Reads values out of the Prometheus text exposition a service serves on /metrics.</summary>
internal static class Exposition
{
    /// <summary>Sums the samples of one Prometheus metric family whose labels include all of <paramref name="labels"/>.</summary>
    public static double Sample(string exposition, string family, params (string Name, string Value)[] labels)
    {
        double sum = 0;
        var found = false;
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !(line.StartsWith(family + "{", StringComparison.Ordinal) || line.StartsWith(family + " ", StringComparison.Ordinal)))
            {
                continue;
            }
            if (labels.All(l => line.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                var value = line[(line.LastIndexOf(' ') + 1)..];
                sum += double.Parse(value, CultureInfo.InvariantCulture);
                found = true;
            }
        }
        return found ? sum : double.NaN;
    }
}
