using Microsoft.Extensions.Configuration;

namespace CloudApp.AppHost;

/// <summary>
/// Finds out whether an image can be used before a resource depends on it: present in the local engine, or
/// pullable. A machine that reaches no registry then gets one clear warning instead of a resource that retries
/// a pull forever.
/// </summary>
internal static class ContainerImageProbe
{
    public sealed record Result(bool Available, string Detail);

    public static async Task<Result> CheckAsync(IConfiguration configuration, ImageReference image, TimeSpan pullTimeout)
    {
        var runtime = Runtime(configuration);
        var reference = image.ToString();
        try
        {
            var inspect = await ExternalProgram.RunAsync(runtime, ["image", "inspect", "--format", "{{.Id}}", reference], TimeSpan.FromSeconds(30));
            if (inspect.ExitCode == 0)
            {
                return new(true, "present locally");
            }
            var pull = await ExternalProgram.RunAsync(runtime, ["pull", reference], pullTimeout);
            return pull.ExitCode == 0
                ? new(true, "pulled")
                : new(false, LastLine(pull.Error) ?? $"'{runtime} pull {reference}' failed");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException or InvalidOperationException)
        {
            return new(false, e.Message);
        }
    }

    /// <summary>The container runtime DCP drives (Aspire reads the same setting).</summary>
    public static string Runtime(IConfiguration configuration) =>
        configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker";

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
}
