using CloudApp.AppHost;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// promtool and amtool as they ship inside the Prometheus and Alertmanager images the stack runs (deploy/images.json,
/// or the local stand-ins eng/prepare.sh selects): the configuration is checked by the very version that
/// loads it, with deploy/ (or a folder a test wrote) mounted read-only.
/// </summary>
internal static class ImageTool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Runs promtool; paths are relative to deploy/prometheus (<paramref name="directory"/> below it, if given).</summary>
    public static Task<ExternalProgram.Result> Promtool(string[] arguments, string? directory = null) =>
        PromtoolIn(Repository.Path("deploy"), Path.Combine("prometheus", directory ?? ""), arguments);

    /// <summary>Runs promtool on files a test wrote: <paramref name="root"/> mounted read-only, paths relative to <paramref name="directory"/> below it.</summary>
    public static Task<ExternalProgram.Result> PromtoolIn(string root, string directory, params string[] arguments) =>
        Run(Repository.Images.Prometheus, "/bin/promtool", root, directory, arguments);

    /// <summary>Runs amtool; paths are relative to deploy/alertmanager.</summary>
    public static Task<ExternalProgram.Result> Amtool(params string[] arguments) =>
        Run(Repository.Images.Alertmanager, "/bin/amtool", Repository.Path("deploy"), "alertmanager", arguments);

    private static Task<ExternalProgram.Result> Run(ImageReference image, string tool, string root, string directory, string[] arguments) =>
        ExternalProgram.RunAsync("docker",
            ["run", "--rm", "--network", "none", "-v", $"{root}:/files:ro", "-w", $"/files/{directory}".TrimEnd('/'),
             "--entrypoint", tool, image.ToString(), .. arguments],
            Timeout);
}
