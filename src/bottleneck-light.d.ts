// The light build of Bottleneck (what @octokit/plugin-throttling uses) has the main build's API.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
